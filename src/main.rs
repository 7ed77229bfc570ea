//! The `runstore` command-line tool. See `runstore --help`.

mod cli;

/// mimalloc rather than glibc's allocator: reading a page of runs allocates
/// tens of thousands of small strings, and glibc's free-list consolidation
/// made that 3x slower (perf: `malloc_consolidate`, `unlink_chunk`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::run());
}
