//! Helpers for the `sub`/`pub` tests: a real mosquitto on a free port with its own config
//! file, our broker in-process, and processes whose output is collected as it arrives.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::common::{TestBroker, default_broker, mosquitto_bin};

/// Path of the real `mqtt-workbench` binary.
pub fn wb() -> PathBuf {
    assert_cmd::cargo::cargo_bin("mqtt-workbench")
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running process with its stdout and stderr collected in the background.
pub struct Proc {
    child: Child,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    /// stdin, when kept open ([`Proc::wb_stdin_open`]).
    input: Option<tokio::process::ChildStdin>,
}

fn collect<R: tokio::io::AsyncRead + Unpin + Send + 'static>(mut r: R) -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let b = buf.clone();
    tokio::spawn(async move {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = r.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            b.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

impl Proc {
    /// Starts `program args`, optionally feeding `stdin` and closing it.
    pub fn spawn(
        program: impl AsRef<std::ffi::OsStr>,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Self {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn");
        if let Some(data) = stdin {
            let mut input = child.stdin.take().expect("stdin");
            let data = data.to_vec();
            tokio::spawn(async move {
                let _ = input.write_all(&data).await;
                let _ = input.shutdown().await;
            });
        }
        let out = collect(child.stdout.take().expect("stdout"));
        let err = collect(child.stderr.take().expect("stderr"));
        Self {
            child,
            out,
            err,
            input: None,
        }
    }

    /// Our binary with these arguments and its stdin kept open (for `pub -l`).
    pub fn wb_stdin_open(args: &[&str]) -> Self {
        let mut cmd = Command::new(wb());
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn");
        let input = child.stdin.take();
        let out = collect(child.stdout.take().expect("stdout"));
        let err = collect(child.stderr.take().expect("stderr"));
        Self {
            child,
            out,
            err,
            input,
        }
    }

    /// Sends the process `signal` (`TERM`, `INT`) with kill(1).
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("running").to_string();
        let ok = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{signal} {pid}");
    }

    /// Our binary with these arguments.
    pub fn wb(args: &[&str]) -> Self {
        Self::spawn(wb(), args, None)
    }

    /// stdout so far, lossily as text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// stderr so far, lossily as text.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned()
    }

    /// Waits (at most 10 s) until stderr contains `needle`.
    pub async fn wait_stderr(&self, needle: &str) {
        for _ in 0..500 {
            if self.stderr_text().contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "stderr never contained {needle:?}; got:\n{}",
            self.stderr_text()
        );
    }

    /// Waits (at most 10 s) until stdout contains `needle`.
    pub async fn wait_stdout(&self, needle: &str) {
        for _ in 0..500 {
            if self.stdout_text().contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "stdout never contained {needle:?}; got:\n{}\nstderr:\n{}",
            self.stdout_text(),
            String::from_utf8_lossy(&self.err.lock().unwrap())
        );
    }

    /// Waits (at most 15 s) for the exit: (exit code, stdout bytes, stderr text).
    pub async fn finish(mut self) -> (i32, Vec<u8>, String) {
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("process did not exit within 15 s")
            .expect("wait");
        // Let the readers drain the pipes.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let out = self.out.lock().unwrap().clone();
        let err = String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned();
        (status.code().unwrap_or(-1), out, err)
    }
}

/// Runs a command to completion (bounded): (exit code, stdout, stderr).
pub async fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> (i32, String, String) {
    run_with_stdin(program, args, None).await
}

/// Runs a command with stdin to completion (bounded): (exit code, stdout, stderr).
pub async fn run_with_stdin(
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> (i32, String, String) {
    let (code, out, err) = Proc::spawn(program, args, stdin).finish().await;
    (code, String::from_utf8_lossy(&out).into_owned(), err)
}

/// A real mosquitto broker on a free loopback port, with its own config file.
pub struct Mosquitto {
    proc: Proc,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Mosquitto {
    /// Starts mosquitto with `listener PORT 127.0.0.1`, `log_type all` and `extra` lines.
    pub async fn start(extra: &str) -> Self {
        Self::start_on(free_port(), extra).await
    }

    /// Like [`Mosquitto::start`] on a given port (to restart a broker where clients expect it).
    pub async fn start_on(port: u16, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nlog_dest stderr\nlog_type all\npersistence false\n{extra}\n"
            ),
        )
        .expect("write config");
        let proc = Proc::spawn(
            mosquitto_bin(),
            &["-c", conf.to_str().expect("utf-8")],
            None,
        );
        let m = Self { proc, port, dir };
        m.proc
            .wait_stderr(&format!("Opening ipv4 listen socket on port {port}."))
            .await;
        m.proc.wait_stderr("running").await;
        m
    }

    /// Starts mosquitto allowing anonymous clients.
    pub async fn anonymous() -> Self {
        Self::start("allow_anonymous true").await
    }

    /// Waits for a broker log line containing `needle`.
    pub async fn wait_log(&self, needle: &str) {
        self.proc.wait_stderr(needle).await;
    }

    /// The broker's log so far.
    pub fn log_text(&self) -> String {
        self.proc.stderr_text()
    }
}

/// Either broker, so a test can run against both.
pub enum AnyBroker {
    /// The real mosquitto.
    Mosquitto(Mosquitto),
    /// Ours, in-process.
    Ours(TestBroker),
}

impl AnyBroker {
    /// Starts mosquitto (anonymous) or ours.
    pub async fn start(mosquitto: bool) -> Self {
        if mosquitto {
            Self::Mosquitto(Mosquitto::anonymous().await)
        } else {
            Self::Ours(default_broker().await)
        }
    }

    /// The port as an argument.
    pub fn port(&self) -> String {
        match self {
            Self::Mosquitto(m) => m.port.to_string(),
            Self::Ours(b) => b.port().to_string(),
        }
    }

    /// Waits for a broker log line containing `needle`.
    pub async fn wait_log(&mut self, needle: &str) {
        match self {
            Self::Mosquitto(m) => m.wait_log(needle).await,
            Self::Ours(b) => {
                b.wait_log(needle).await;
            }
        }
    }

    /// Which broker, for assertion messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Mosquitto(_) => "mosquitto",
            Self::Ours(_) => "mqtt-workbench broker",
        }
    }
}

/// Starts a subscriber (`program` is our binary or mosquitto_sub) with client id `id` and
/// waits until the broker has sent its SUBACK.
pub async fn subscribed(broker: &mut AnyBroker, program: &str, id: &str, args: &[&str]) -> Proc {
    let port = broker.port();
    let mut all = vec!["-h", "127.0.0.1", "-p", &port, "-i", id];
    all.extend_from_slice(args);
    let p = if program == "wb" {
        let mut a = vec!["sub"];
        a.extend_from_slice(&all);
        Proc::wb(&a)
    } else {
        Proc::spawn(program, &all, None)
    };
    broker.wait_log(&format!("Sending SUBACK to {id}")).await;
    p
}
