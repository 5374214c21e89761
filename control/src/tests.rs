//! The socket's bounds: a round trip, a refusal when every slot is taken, a silent caller
//! dropped after the read time limit without blocking the others.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn a_call_gets_the_handlers_typed_reply_with_the_callers_context() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let handler: Handler<Vec<u32>, (u32, PathBuf)> =
        Arc::new(|caller: Caller, req: Vec<u32>| Reply::Done((req.iter().sum(), caller.cwd)));
    let _l = rt.block_on(async { listen(dir.path(), Limits::default(), handler) }).unwrap();
    assert!(present(dir.path()));
    let r: Reply<(u32, PathBuf)> = call(dir.path(), &vec![1u32, 2, 3]).unwrap();
    assert_eq!(r, Reply::Done((6, std::env::current_dir().unwrap())));
}

#[test]
fn a_caller_beyond_the_limit_is_refused_at_once_and_served_once_a_slot_is_free() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    // The first call blocks in the handler until released.
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let entered_tx = Arc::new(Mutex::new(entered_tx));
    let handler: Handler<bool, &'static str> = Arc::new(move |_, block: bool| {
        if block {
            let _ = entered_tx.lock().unwrap().send(());
            let _ = release_rx.lock().unwrap().recv();
        }
        Reply::Done("ok")
    });
    let limits = Limits { max_callers: 1, ..Limits::default() };
    let _l = rt.block_on(async { listen(dir.path(), limits, handler) }).unwrap();
    let path = dir.path().to_path_buf();
    let first = std::thread::spawn(move || call::<bool, String>(&path, &true).unwrap());
    entered_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let second: Reply<String> = call(dir.path(), &false).unwrap();
    match second {
        Reply::Refused(why) => assert!(why.contains("繁忙"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    release_tx.send(()).unwrap();
    assert_eq!(first.join().unwrap(), Reply::Done("ok".to_string()));
    let third: Reply<String> = call(dir.path(), &false).unwrap();
    assert_eq!(third, Reply::Done("ok".to_string()));
}

#[test]
fn a_silent_caller_is_dropped_after_the_read_limit_and_holds_no_slot() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let handler: Handler<u8, u8> = Arc::new(|_, x: u8| Reply::Done(x + 1));
    let limits = Limits { max_callers: 1, read_within: Duration::from_millis(300), ..Limits::default() };
    let _l = rt.block_on(async { listen(dir.path(), limits, handler) }).unwrap();
    // Connects and says nothing: the server gives up on it.
    let mut silent = std::os::unix::net::UnixStream::connect(dir.path().join(SOCKET)).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let r: Reply<u8> = read_message(&mut silent).unwrap();
    assert!(matches!(r, Reply::Refused(_)), "{r:?}");
    // Its slot is free again.
    let r: Reply<u8> = call(dir.path(), &1u8).unwrap();
    assert_eq!(r, Reply::Done(2));
}

#[test]
fn an_oversized_length_is_refused_without_reading_it() {
    let mut bytes: &[u8] = &(MAX_MESSAGE + 1).to_be_bytes();
    assert!(matches!(read_message::<u8>(&mut bytes), Err(ControlError::TooLarge(_))));
}
