//! `mqtt-workbench --profile NAME` in tmux against a real mosquitto that wants a password:
//! the workbench opens on that broker (beside the embedded one) with its topic tree, and a
//! profile with the wrong password, opened from the picker, shows the refusal in words
//! without retrying, and connects with the password typed at the prompt.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::client_support::{Mosquitto, run, wb};
use crate::common::{have_mosquitto, run_tool};
use crate::tui_tmux::{Tmux, have_tmux};

#[tokio::test(flavor = "multi_thread")]
async fn profile_opens_the_workbench_on_that_broker_with_its_topic_tree() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let auth = tempfile::tempdir().unwrap();
    let pwfile = auth.path().join("passwd");
    let pw = pwfile.to_str().unwrap();
    let (code, _, err) = run("mosquitto_passwd", &["-c", "-b", pw, "alice", "secret"]).await;
    assert_eq!(code, 0, "mosquitto_passwd: {err}");
    let m = Mosquitto::start(&format!("allow_anonymous false\npassword_file {pw}")).await;
    let port = m.port.to_string();
    let cfg = tempfile::tempdir().unwrap();
    let dir = cfg.path().to_str().unwrap();
    for args in [
        &[
            "profile",
            "add",
            "lab",
            "--config-dir",
            dir,
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-u",
            "alice",
            "-P",
            "secret",
            "-t",
            "lab/#",
        ][..],
        &[
            "profile",
            "add",
            "wrongpw",
            "--config-dir",
            dir,
            "--from",
            "lab",
            "-P",
            "nope",
        ][..],
    ] {
        let (code, _, err) = run(wb(), args).await;
        assert_eq!(code, 0, "{args:?}: {err}");
    }

    let t = Tmux::start("profile", &["--config-dir", dir, "--profile", "lab"]);
    let s = t.wait_until("the client connected to the profile", |s| {
        s.contains(&format!("client connected 'lab' mqtt://127.0.0.1:{port}"))
    });
    // `--profile` opens the profile beside the embedded broker's connection (issue 14).
    assert!(
        s.contains("[2/2]") && s.contains("broker 127.0.0.1:"),
        "{s}"
    );
    m.wait_log("lab/# (QoS 0)").await;
    let (ok, _, err) = run_tool(
        &[
            "mosquitto_pub",
            "-p",
            &port,
            "-u",
            "alice",
            "-P",
            "secret",
            "-t",
            "lab/sensors/temp",
            "-m",
            "21.5",
        ],
        10,
    )
    .await;
    assert!(ok, "mosquitto_pub: {err}");
    let s = t.wait_until("the topic tree and the payload", |s| {
        s.contains("▾ sensors") && s.contains("temp") && s.contains("21.5")
    });
    assert!(s.contains("Topics (1)"), "{s}");

    // The picker lists both profiles; another profile opens as a third connection, beside
    // the others, and nothing collected is cleared.
    t.keys(&["P"]);
    t.wait_until("the picker", |s| {
        s.contains("Profiles · Enter connect") && s.contains("wrongpw")
    });
    t.keys(&["j", "Enter"]);
    // The bad password is refused: the reason shows in the password prompt, and the
    // workbench does not retry the same CONNECT on its own.
    let s = t.wait_until("the refusal", |s| {
        s.contains("not authorised") && s.contains("Password for alice")
    });
    assert!(s.contains("client disconnected 'wrongpw'"), "{s}");
    assert!(
        !s.contains("retry "),
        "a refusal is not retried blindly: {s}"
    );
    assert!(
        s.contains("Topics (0)"),
        "the new connection has its own, empty tree; {s}"
    );
    // Typing the right password connects.
    t.text("secret");
    t.keys(&["Enter"]);
    t.wait_until("the connection with the typed password", |s| {
        s.contains("client connected 'wrongpw'")
    });
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}
