"""devcluster's PID records name the process they started, scripts too: a script's
command line, as the kernel shows it, starts with its #! interpreter."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from devcluster import processes

SCRIPT = f"#!{sys.executable}\nimport time\ntime.sleep(60)\n"
IS_ALIVE = ("import sys; from pathlib import Path; from devcluster import processes; "
            "print(processes.is_alive(processes.read_records(Path(sys.argv[1]))[0]))")


def test_a_script_is_recognised_by_another_process_and_started_without_delay(tmp_path: Path) -> None:
    script = tmp_path / "sleeper"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    started = time.monotonic()
    record = processes.spawn("sleeper", [str(script), "an-argument"], run_dir=tmp_path / "run",
                             log_dir=tmp_path / "logs")
    try:
        assert time.monotonic() - started < 5.0  # not the 10 s wait for a command line that never shows
        # As `make cluster-down` would see it: from another process, by its PID file.
        seen = subprocess.run([sys.executable, "-c", IS_ALIVE, str(tmp_path / "run")],
                              capture_output=True, text=True, check=True)
        assert seen.stdout.strip() == "True"
    finally:
        processes.stop(record, tmp_path / "run")
    assert not processes.is_alive(record)
    assert not (tmp_path / "run" / "sleeper.pid").exists()
