//! The one signal handler (SIGINT, SIGTERM, SIGHUP) for every command.
//!
//! By default a signal removes the temporary files of unfinished outputs
//! ([`crate::atomic`]) and exits 130, so an interrupted run never touches a
//! target file. A command that can stop cleanly (`pull` ends at the next page
//! boundary with its checkpoint saved) registers a stop flag: the first
//! signal sets it, a second one exits at once as above.

use crate::exit::Exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};

static STOP: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);
static INSTALL: Once = Once::new();

fn install() {
    INSTALL.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            let stop = STOP.lock().ok().and_then(|s| s.clone());
            if let Some(flag) = stop {
                if !flag.swap(true, Ordering::SeqCst) {
                    return; // the first signal asks for a clean stop
                }
            }
            crate::atomic::remove_pending();
            std::process::exit(Exit::Interrupted as i32);
        });
    });
}

/// Signals remove unfinished outputs' temporary files and exit 130.
pub fn exit_on_signals() {
    install();
}

/// The first signal sets the returned flag (the command stops cleanly); a
/// second one exits 130 at once.
pub fn stop_on_signals() -> Arc<AtomicBool> {
    install();
    let flag = Arc::new(AtomicBool::new(false));
    if let Ok(mut s) = STOP.lock() {
        *s = Some(flag.clone());
    }
    flag
}
