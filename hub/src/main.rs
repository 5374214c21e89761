//! `baoxue-hub`: see `baoxue_hub::cli`.

// sled allocates per key and node; glibc's allocator serialises the hub's threads on its arena
// locks (about 20% of the time of applying a sync batch).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // Everything this process creates (store, sealed files, archives) is private to its user,
    // whatever the umask it was started with.
    // SAFETY: umask only sets the process's file mode creation mask; it cannot fail.
    unsafe { libc::umask(0o077) };
    baoxue_hub::cli::main()
}
