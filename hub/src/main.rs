//! `baoxue-hub`: see `baoxue_hub::cli`.

// sled allocates per key and node; glibc's allocator serialises the hub's threads on its arena
// locks (about 20% of the time of applying a sync batch).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    baoxue_hub::cli::main()
}
