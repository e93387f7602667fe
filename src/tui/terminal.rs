//! The terminal guard: raw mode, alternate screen, mouse capture and bracketed paste on the
//! way in; one idempotent [`restore`] on the way out, used on quit, on errors, from the panic
//! hook and after SIGTERM.

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::Show;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// True while the terminal is in the workbench's mode.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Set by the panic hook: the run loop quits when it sees it.
static PANICKED: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// The terminal the workbench draws on.
pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Owns the terminal while the workbench runs; restores it when dropped.
///
/// The ratatui `Terminal` itself is never dropped: its `Drop` shows the cursor again and, if
/// that fails, prints with `eprintln!`, which panics when the terminal is gone (a closed window,
/// a dropped ssh session). That panic used to skip the embedded broker's shutdown and its
/// persistence save. [`restore`] shows the cursor instead, and ignores a dead terminal.
pub struct TerminalGuard {
    /// The ratatui terminal.
    pub terminal: std::mem::ManuallyDrop<Term>,
}

impl std::fmt::Debug for TerminalGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TerminalGuard")
    }
}

/// Puts the terminal into the workbench's mode. On failure everything done so far is undone
/// and the error returned, so the caller can print it on a normal screen.
pub fn enter() -> io::Result<TerminalGuard> {
    install_panic_hook();
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let setup = execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste
    )
    .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
    match setup {
        Ok(mut terminal) => {
            if let Err(e) = terminal.hide_cursor().and_then(|()| terminal.clear()) {
                restore();
                return Err(e);
            }
            Ok(TerminalGuard {
                terminal: std::mem::ManuallyDrop::new(terminal),
            })
        }
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

/// Gives the terminal back: bracketed paste and mouse off, the alternate screen cleared and
/// left, cursor shown, raw mode off. Does nothing when already restored, so every exit path may call it.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(
            out,
            DisableBracketedPaste,
            DisableMouseCapture,
            // Cleared first: a terminal that grew while the workbench ran (tmux
            // `resize-window`) otherwise shows rows of the last frame on the normal screen.
            Clear(ClearType::All),
            LeaveAlternateScreen,
            Show
        );
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

/// True once any thread panicked while the workbench ran.
#[must_use]
pub fn panicked() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

/// Restores the terminal before the default hook prints the panic, on any thread.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::SeqCst);
            restore();
            previous(info);
        }));
    });
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Asks the terminal to put `text` on the clipboard (OSC 52).
pub fn copy_osc52(out: &mut impl Write, text: &str) -> io::Result<()> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    write!(out, "\x1b]52;c;{b64}\x07")?;
    out.flush()
}
