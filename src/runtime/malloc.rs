//! Keeps glibc from hoarding freed memory on a small gateway.
//!
//! Checking an arming code (argon2id) allocates about 19 MiB and frees it. glibc raises its
//! mmap threshold to the size of any mmapped block freed, so later checks come from the
//! heap of whichever thread ran them, and each of those per-thread arenas keeps its 19 MiB
//! resident: measured at 130 MiB after a hundred acknowledgements on two cores, against
//! 16 MiB with the threshold fixed. Fixing the threshold keeps large blocks mmapped, so
//! they go back to the kernel when freed.

/// Blocks at least this large are always mmapped and returned on free.
const MMAP_THRESHOLD: i32 = 1 << 20;

/// Fixes glibc's mmap threshold. Call once, before threads start.
pub fn return_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any other
    // thread exists, and a refusal (return 0) leaves glibc's default behaviour.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}
