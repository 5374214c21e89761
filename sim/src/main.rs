//! `baoxue-sim`: see `baoxue_sim::cli`.

// The hub's allocator, for the hub processes the sync benchmark runs (`baoxue-sim hub serve`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    baoxue_sim::cli::main()
}
