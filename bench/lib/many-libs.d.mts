export function buildManyLibs(dir: string, opts?: { count?: number; dirs?: number }): { app: string; lib: string; ldLibraryPath: string; usedPath: string };
