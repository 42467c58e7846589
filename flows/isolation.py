"""One report parsed in a forked child under hard bounds: for code that cannot check the readers'
cooperative deadline (a C library stuck in one call, a blow-up of memory). A process sandbox is
orchestration, so it lives here and not among the pure readers of transforms/.
"""
from __future__ import annotations

import hashlib
import multiprocessing as mp

from transforms.read.limits import Limits, _mb
from transforms.engine import ParsedReport, _empty_report, parse_report
from transforms.schema import quarantine_problem


def parse_report_isolated(data: bytes, source_file: str, *, timeout: float | None = None,
                          memory: int | None = None):
    """engine.parse_report in a forked child with an address-space limit and a kill timeout.

    `memory` (default NIANBAO_MAX_MEMORY) is what the parse may add to the child's address space
    at fork (RLIMIT_AS = size at fork + memory), so a large worker process is not starved at start.

    For batches that must survive any file (a C-level hang or blow-up the cooperative deadline
    cannot interrupt). Costs one fork per file (~10–30 ms). Over a limit → an "unreadable" report
    with the reason, like any other quarantined file. POSIX only (uses fork + RLIMIT_AS).
    """
    limits = Limits.from_env()
    timeout = limits.max_seconds + 5 if timeout is None else timeout
    memory = limits.max_memory if memory is None else memory
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_isolated_child, args=(send, data, source_file, memory), daemon=True)
    proc.start()
    send.close()
    reason, code = None, "unreadable"
    result = None
    try:
        if recv.poll(timeout):
            try:
                result = recv.recv()
            except EOFError:
                reason, code = "the parser process died (over the memory limit NIANBAO_MAX_MEMORY?)", "memory_limit"
        else:
            reason, code = f"over the time limit: no result within {timeout:g} s (killed)", "time_limit"
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        recv.close()
    if isinstance(result, tuple) and result and result[0] == "ok":
        return result[1]
    if isinstance(result, tuple) and result and result[0] == "error":
        reason, code = result[1], result[2]
    sha = hashlib.sha256(data).hexdigest()
    base = _empty_report(sha, source_file, len(data))
    base["problems"] = [quarantine_problem(source_file, reason, code)]
    return ParsedReport(base, [])


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _isolated_child(conn, data: bytes, source_file: str, memory: int) -> None:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = _vm_size() + memory  # what the parse may ADD to the forked worker's address space
        cap = cap if hard == resource.RLIM_INFINITY else min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):
        pass
    try:
        conn.send(("ok", parse_report(data, source_file)))
    except MemoryError:
        conn.send(("error", f"over the memory limit ({_mb(memory)}, NIANBAO_MAX_MEMORY)", "memory_limit"))
    except BaseException as exc:  # noqa: BLE001 - report anything, the parent decides
        try:
            conn.send(("error", f"parser error: {type(exc).__name__}: {exc}", "unreadable"))
        except Exception:
            pass
    finally:
        conn.close()
