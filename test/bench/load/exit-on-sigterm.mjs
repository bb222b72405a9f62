// Preloaded (`node --import`) into servers that have no SIGTERM handler of their own when the
// benchmark profiles them (PARLEY_BENCH_PROFILE): `node --cpu-prof` writes its profile only on
// a normal exit, never when a signal kills the process.
process.once('SIGTERM', () => process.exit(0))
