"""What this machine can give a computation: free memory of the host or of a JAX device."""

from __future__ import annotations

import os


def free_memory(device=None) -> int:
    """Bytes that can still be allocated: on a GPU ``device`` its allocator's limit minus what is in
    use, else host RAM that is available (Linux ``MemAvailable``: free plus reclaimable caches;
    the free pages elsewhere)."""
    stats = device.memory_stats() if device is not None and device.platform != "cpu" else None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
