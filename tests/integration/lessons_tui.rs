//! Lessons, faults, the equivalent command and the first-minute overlay, end to end: the real
//! binary in tmux, mosquitto's tools from outside, commands run exactly as the workbench
//! prints them.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use mqtt_workbench::lessons::{self, events::KINDS};
use mqtt_workbench::tui::app::{Action, App, Cmd, Effect, Limits, Modal, StartInfo};
use mqtt_workbench::tui::keymap::{BINDINGS, Ctx};

use crate::common::{KillOnDrop, default_broker, have_mosquitto, run_tool};
use crate::tui_tmux::{Tmux, have_tmux};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The panes a lesson may point at.
const VIEWS: &[&str] = &["topics", "messages", "payload", "log", "lesson"];

/// True when `key` (as a lesson writes it: one character) is bound outside dialogs.
fn key_is_bound(key: &str) -> bool {
    let mut chars = key.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return false;
    };
    BINDINGS.iter().any(|b| {
        b.code == KeyCode::Char(c)
            && matches!(
                b.ctx,
                Ctx::Global | Ctx::Topics | Ctx::Messages | Ctx::Payload | Ctx::Log
            )
    })
}

/// Everything wrong with a lesson file: unknown event kinds or fields (from the loader),
/// unbound keys, unknown views.
fn problems(name: &str, text: &str) -> Vec<String> {
    let lesson = match lessons::parse(name, text) {
        Ok(l) => l,
        Err(e) => return vec![e],
    };
    let mut out = Vec::new();
    for (i, s) in lesson.steps.iter().enumerate() {
        for k in &s.keys {
            if !key_is_bound(k) {
                out.push(format!("{name}: step {}: key '{k}' is not bound", i + 1));
            }
        }
        if let Some(v) = &s.view
            && !VIEWS.contains(&v.as_str())
        {
            out.push(format!("{name}: step {}: no view '{v}'", i + 1));
        }
        for c in &s.check {
            if !KINDS.contains(&c.event.as_str()) {
                out.push(format!("{name}: step {}: no event '{}'", i + 1, c.event));
            }
        }
    }
    out
}

#[test]
fn every_lesson_names_only_bound_keys_existing_views_and_known_events() {
    for (name, text) in lessons::BUILTIN {
        let p = problems(name, text);
        assert!(p.is_empty(), "{p:?}");
    }
    // The same check refuses a lesson with a made-up key, view or event.
    let step = |extra: &str| format!("title = \"t\"\n[[step]]\ngoal = \"g\"\n{extra}\n");
    let bad_key = step("keys = [\"§\"]\ncheck = [{ event = \"publish_received\" }]");
    assert!(problems("k.toml", &bad_key)[0].contains("key '§'"));
    let bad_view = step("view = \"graph\"\ncheck = [{ event = \"publish_received\" }]");
    assert!(problems("v.toml", &bad_view)[0].contains("no view 'graph'"));
    let bad_event = step("check = [{ event = \"will_fired\" }]");
    assert!(problems("e.toml", &bad_event)[0].contains("will_fired"));
}

/// Waits until the client pane is subscribed (its SUBACK is in the log).
fn wait_ready(t: &Tmux) {
    t.wait_until("the workbench's client to subscribe", |s| {
        s.contains("Sending SUBACK to mqtt-workbench-") && s.contains("client connected")
    });
}

/// Lesson 1's commands, filled in for `port`, as the pane prints them.
fn lesson_1_commands(port: u16) -> Vec<String> {
    let l = lessons::builtin().expect("lessons")[0].clone();
    l.steps
        .iter()
        .flat_map(|s| s.commands.iter())
        .map(|c| lessons::fill(c, "127.0.0.1", port))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn lesson_1_ticks_off_with_mosquitto_sub_and_pub_from_outside() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let port = free_port();
    let t = Tmux::start("lesson-outside", &["--port", &port.to_string()]);
    wait_ready(&t);
    t.keys(&["L"]);
    let cmds = lesson_1_commands(port);
    let s = t.wait_until("lesson 1 in its pane", |s| s.contains("Lesson 1/8"));
    assert!(s.contains(&format!("$ {}", cmds[0])), "{s}");
    // Step 1, as printed (plus -C 1 so that it ends after the message).
    let sub = Command::new("sh")
        .arg("-c")
        .arg(format!("timeout 20 {} -C 1", cmds[0]))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto_sub");
    let mut sub = KillOnDrop(sub);
    let s = t.wait_until("step 1 ticked", |s| s.contains("[x] 1. Subscribe"));
    // The pane wraps the command after `-m 'Hello2`.
    assert!(
        s.contains(&format!(
            "$ mosquitto_pub -h 127.0.0.1 -p {port} -t mqtt -m 'Hello2"
        )),
        "{s}"
    );
    // Step 2, as printed.
    let (ok, _, err) = run_tool(&["sh", "-c", &cmds[1]], 10).await;
    assert!(ok, "{}: {err}", cmds[1]);
    let s = t.wait_until("the lesson complete", |s| s.contains("Lesson complete"));
    assert!(s.contains("[x] 3. Read the broker's lines"), "{s}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while sub.0.try_wait().expect("wait").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = String::new();
    if let Some(mut so) = sub.0.stdout.take() {
        use std::io::Read;
        let _ = so.read_to_string(&mut out);
    }
    assert_eq!(out.trim(), "mqtt Hello2 mqtt");
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

#[test]
fn lesson_1_ticks_off_with_the_composer_only() {
    if !have_tmux() {
        return;
    }
    let port = free_port();
    let t = Tmux::start("lesson-composer", &["--port", &port.to_string()]);
    wait_ready(&t);
    t.keys(&["L"]);
    t.wait_until("lesson 1 in its pane", |s| s.contains("Lesson 1/8"));
    t.keys(&["s"]);
    t.wait_until("the subscribe dialog", |s| s.contains("Subscribe · QoS"));
    t.text("mqtt");
    // The dialog shows the same subscription for mosquitto_sub.
    t.wait_until("the equivalent command", |s| {
        s.contains(&format!(
            "$ mosquitto_sub -h 127.0.0.1 -p {port} -t mqtt -v"
        ))
    });
    t.keys(&["Enter"]);
    t.wait_until("step 1 ticked", |s| s.contains("[x] 1. Subscribe"));
    t.keys(&["p"]);
    t.wait_until("the composer", |s| s.contains("Publish · Tab next field"));
    t.text("mqtt");
    t.keys(&["Tab"]);
    t.text("Hello2 mqtt");
    t.wait_until("the equivalent command", |s| {
        s.contains(&format!(
            "$ mosquitto_pub -h 127.0.0.1 -p {port} -t mqtt -m 'Hello2 mqtt'"
        ))
    });
    t.keys(&["C-s"]);
    let s = t.wait_until("the lesson complete", |s| s.contains("Lesson complete"));
    assert!(s.contains("[x] 2. Publish 'Hello2 mqtt'"), "{s}");
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

/// Starts the workbench, zooms the log to the whole screen and causes fault `n` (1-4).
fn fault(name: &str, n: &str) -> Tmux {
    let port = free_port();
    let t = Tmux::start(name, &["--port", &port.to_string()]);
    wait_ready(&t);
    t.keys(&["4", "z", "!"]);
    t.wait_until("the fault menu", |s| s.contains("Break something"));
    t.keys(&[n]);
    t
}

/// True when one line of the screen holds every needle.
fn line_with(s: &str, needles: &[&str]) -> bool {
    s.lines().any(|l| needles.iter().all(|n| l.contains(n)))
}

#[test]
fn fault_1_drops_a_client_without_disconnect_and_its_will_is_published() {
    if !have_tmux() {
        return;
    }
    let t = fault("fault-will", "1");
    let s = t.wait_until("the will's PUBLISH to the pane", |s| {
        line_with(
            s,
            &["Sending PUBLISH to mqtt-workbench-", "'lesson/will/device'"],
        )
    });
    assert!(
        line_with(&s, &["Client wb-device-", "closed its connection."]),
        "{s}"
    );
    assert!(s.contains("Will message specified"), "{s}");
    // The helper's report reaches the log after the broker's lines (it runs on its own task),
    // as faults 2 and 3 already wait for it.
    let s = t.wait_until("the helper's report", |s| {
        s.contains("FAULT done: wb-device-")
    });
    // The explanation comes from the why notes, with its clauses.
    assert!(s.contains("[MQTT311-3.1.2-8]"), "{s}");
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

#[test]
fn fault_2_a_silent_client_is_closed_after_one_and_a_half_keep_alives() {
    if !have_tmux() {
        return;
    }
    let t = fault("fault-keepalive", "2");
    let s = t.wait_until("the keep-alive close", |s| {
        line_with(
            s,
            &["Client wb-silent-", "has exceeded timeout, disconnecting."],
        )
    });
    assert!(line_with(&s, &["as wb-silent-", "k2"]), "{s}");
    let s = t.wait_until("the helper's report", |s| {
        s.contains("FAULT done: the broker closed")
    });
    assert!(s.contains("[MQTT311-3.1.2-24]"), "{s}");
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

#[test]
fn fault_3_a_second_client_with_the_panes_id_takes_over() {
    if !have_tmux() {
        return;
    }
    let t = fault("fault-takeover", "3");
    let s = t.wait_until("the takeover line", |s| {
        line_with(
            s,
            &[
                "Client mqtt-workbench-",
                "already connected, closing old connection.",
            ],
        )
    });
    assert!(s.contains("[MQTT311-3.1.4-2]"), "{s}");
    t.wait_until("the helper's report", |s| {
        s.contains("FAULT done: a second mqtt-workbench-")
    });
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

#[test]
fn fault_4_a_subscriber_that_stops_reading_has_messages_dropped() {
    if !have_tmux() {
        return;
    }
    let t = fault("fault-stalled", "4");
    t.wait_until("the helper's report", |s| {
        s.contains("stopped reading while 9000 messages arrived")
    });
    // The flood scrolled the lines away: search the log for them.
    let search = |text: &str| {
        t.keys(&["/"]);
        t.wait_until("the search prompt", |s| s.contains("Search the broker log"));
        // The prompt opens on the previous search: clear it.
        for _ in 0..20 {
            t.keys(&["BSpace"]);
        }
        t.text(text);
        t.keys(&["Enter"]);
    };
    search("being dropped");
    t.wait_until("the drop line", |s| {
        line_with(
            s,
            &["Outgoing messages are being dropped for client wb-stalled-"],
        )
    });
    search("FAULT: client");
    t.wait_until("the announcement with its why note", |s| {
        s.contains("subscribes to 'lesson/flood' at QoS 1 and stops reading")
    });
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

#[test]
fn the_first_minute_overlay_shows_once_per_config_dir() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let env = format!(
        "MQTT_WORKBENCH_NO_FIRST_MINUTE= MQTT_WORKBENCH_CONFIG_DIR='{}'",
        dir.path().display()
    );
    let port = free_port().to_string();
    let t = Tmux::start_with_env("first-minute", &env, &["--port", &port]);
    let s = t.wait_until("the overlay", |s| s.contains("The first minute"));
    assert!(s.contains("L  opens lesson 1"), "{s}");
    // L from the overlay closes it and opens lesson 1.
    t.keys(&["L"]);
    t.wait_until("lesson 1", |s| {
        s.contains("Lesson 1/8") && !s.contains("The first minute")
    });
    t.keys(&["q"]);
    t.assert_clean_exit(0);
    assert!(dir.path().join("first-minute-seen").exists());
    drop(t);
    let t = Tmux::start_with_env("first-minute-2", &env, &["--port", &port]);
    wait_ready(&t);
    assert!(!t.screen().contains("The first minute"));
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

/// The composer's and the subscribe dialog's copied commands, run as printed by a shell,
/// publish and subscribe the same way (mosquitto's tools and `mqtt-workbench pub`).
#[tokio::test(flavor = "multi_thread")]
async fn the_copied_commands_run_as_printed_do_the_same() {
    if !have_mosquitto() {
        return;
    }
    let broker = default_broker().await;
    let port = broker.port();
    let info = StartInfo {
        broker_addr: Some(format!("127.0.0.1:{port}")),
        client_target: format!("127.0.0.1:{port}"),
        ..StartInfo::default()
    };
    let mut app = App::new(info, Limits::default());
    let copy = |app: &mut App, workbench: bool| -> String {
        let fx = app.update(Action::Cmd(Cmd::CopyCommand(workbench)));
        match fx.as_slice() {
            [Effect::Copy(t)] => t.clone(),
            other => panic!("expected one copy, got {other:?} ({:?})", app.notice()),
        }
    };
    // Subscribe dialog: a filter with a wildcard at QoS 1.
    app.update(Action::Cmd(Cmd::Subscribe));
    app.update(Action::Paste("lesson/+/x".into()));
    app.update(Action::Cmd(Cmd::NextField));
    let sub_cmd = copy(&mut app, false);
    assert!(sub_cmd.contains("-t lesson/+/x -q 1 -v"), "{sub_cmd}");
    app.update(Action::Cmd(Cmd::Cancel));
    // Composer: a payload that needs quoting, QoS 1, retained, MQTT 5 properties.
    app.update(Action::Cmd(Cmd::Compose));
    assert!(matches!(app.modal(), Some(Modal::Composer(_))));
    app.update(Action::Paste("lesson/a/x".into()));
    app.update(Action::Cmd(Cmd::NextField));
    let payload = "it's $HOME \"and\" `this` #1";
    app.update(Action::Paste(payload.into()));
    app.update(Action::Cmd(Cmd::NextField));
    app.update(Action::Cmd(Cmd::ToggleField));
    app.update(Action::Cmd(Cmd::NextField));
    app.update(Action::Cmd(Cmd::ToggleField));
    app.update(Action::Cmd(Cmd::NextField));
    app.update(Action::Paste("text/plain".into()));
    let mosq = copy(&mut app, false);
    let wb = copy(&mut app, true);
    assert!(
        mosq.starts_with("mosquitto_pub ") && mosq.contains(" -q 1 -r"),
        "{mosq}"
    );
    assert!(wb.starts_with("mqtt-workbench pub "), "{wb}");
    let bin = assert_cmd::cargo::cargo_bin("mqtt-workbench");
    let wb = wb.replacen("mqtt-workbench", &format!("'{}'", bin.display()), 1);
    let clear = [
        "mosquitto_pub",
        "-p",
        &port.to_string(),
        "-t",
        "lesson/a/x",
        "-r",
        "-n",
    ]
    .map(str::to_owned);
    for publish in [mosq, wb] {
        let (ok, _, _) = run_tool(&clear.each_ref().map(String::as_str), 10).await;
        assert!(ok);
        let (ok, _, err) = run_tool(&["sh", "-c", &publish], 10).await;
        assert!(ok, "{publish}: {err}");
        // The subscription as printed gets the retained message at once: topic, payload,
        // RETAIN, QoS (1 only if it was published at 1) and the content type all survived.
        let sub = format!("{sub_cmd} -V 5 -F '%t|%p|%r|%q|%C' -C 1");
        let (ok, line, err) = run_tool(&["sh", "-c", &sub], 10).await;
        assert!(ok, "{sub}: {err}");
        assert_eq!(
            line.trim_end(),
            format!("lesson/a/x|{payload}|1|1|text/plain"),
            "{publish}"
        );
    }
    let (ok, _, _) = run_tool(&clear.each_ref().map(String::as_str), 10).await;
    assert!(ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn fault_5_a_broker_restart_keeps_persistent_sessions_and_their_queued_messages() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let port = free_port();
    let p = port.to_string();
    let t = Tmux::start("fault-restart", &["--port", &p]);
    wait_ready(&t);
    // A persistent session with a QoS 1 subscription, then offline.
    let sub = [
        "mosquitto_sub",
        "-p",
        &p,
        "-t",
        "lesson/session",
        "-q",
        "1",
        "-c",
        "-i",
        "learner",
    ];
    let (_, _, _) = run_tool(&[&sub[..], &["-W", "1"]].concat(), 10).await;
    t.wait_until("learner gone", |s| {
        s.contains("Client learner disconnected")
    });
    let (ok, _, err) = run_tool(
        &[
            "mosquitto_pub",
            "-p",
            &p,
            "-t",
            "lesson/session",
            "-q",
            "1",
            "-m",
            "kept",
        ],
        10,
    )
    .await;
    assert!(ok, "{err}");
    t.keys(&["4", "z", "!"]);
    t.wait_until("the fault menu", |s| {
        s.contains("restart the embedded broker")
    });
    t.keys(&["5"]);
    t.wait_until("the restart", |s| {
        s.contains(&format!("FAULT done: the broker restarted on port {port}"))
    });
    // The session and its queued message survived the restart.
    let (ok, out, err) = run_tool(&[&sub[..], &["-C", "1", "-v"]].concat(), 10).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "lesson/session kept");
    let s = t.wait_until("session present", |s| {
        s.contains("Sending CONNACK to learner (1, 0)")
    });
    assert!(s.contains("terminating") || s.contains("running"), "{s}");
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

/// Runs every command of a lesson as printed (subscribers in the background) against a real
/// broker and feeds the broker's own events to the checker: each step must tick.
async fn lesson_by_its_commands(index: usize) {
    let mut broker = default_broker().await;
    let port = broker.port();
    let lesson = lessons::builtin().expect("lessons")[index].clone();
    let mut progress = lessons::Progress::new(&lesson);
    let mut background = Vec::new();
    for (i, step) in lesson.steps.iter().enumerate() {
        for cmd in &step.commands {
            let cmd = lessons::fill(cmd, "127.0.0.1", port);
            if cmd.starts_with("mosquitto_sub") {
                let child = Command::new("sh")
                    .arg("-c")
                    .arg(format!("timeout 20 {cmd}"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("mosquitto_sub");
                background.push(KillOnDrop(child));
            } else {
                let (ok, _, err) = run_tool(&["sh", "-c", &cmd], 20).await;
                assert!(ok, "{cmd}: {err}");
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while progress.step() == i {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, broker.log.recv()).await {
                Ok(Ok(entry)) => {
                    progress.on_event(&lesson, &entry.event);
                }
                Ok(Err(_)) => {}
                Err(_) => panic!(
                    "{}: step {} did not tick: {}",
                    lesson.title,
                    i + 1,
                    step.goal
                ),
            }
        }
    }
    assert!(progress.done());
}

#[tokio::test(flavor = "multi_thread")]
async fn lessons_1_2_3_and_7_tick_off_by_running_their_printed_commands() {
    if !have_mosquitto() {
        return;
    }
    for index in [0, 1, 2, 6] {
        lesson_by_its_commands(index).await;
    }
}
