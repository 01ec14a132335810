"""``flask ingest-events`` stays within its memory budget (issue 3: a file of any length imports in
no more than ~250 MB), measured on the command as an operator runs it: a process of its own, app
start-up included. bench/ingest.py measures the same at 1,000,000 rows (docs/performance.md)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUDGET_KB = 250 * 1024
EVENTS = 20_000

# Runs the CLI in this process, then reports the process's peak RSS (VmHWM is reset by exec, so it
# is this command's own peak, not the parent's carried over as ru_maxrss would be).
RUN_AND_MEASURE = """
import sys
from flask.cli import main
sys.argv = ["flask", "--app", "wsgi", "ingest-events", sys.argv[1], "--format", "ndjson"]
try:
    main()
except SystemExit as stop:
    if stop.code:
        raise
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")).split()[1]
print(f"peak_kb={peak}")
"""


def test_the_file_import_command_stays_within_its_memory_budget(app, db, tmp_path):
    events = tmp_path / "events.ndjson"
    with events.open("w") as out:
        for i in range(EVENTS):
            out.write(json.dumps({"event_id": f"memory-{i}", "occurred_at": "2026-11-02T09:00:00Z",
                                  "crm_user_id": f"005MEM{i % 300:012d}", "event_type": "record_updated",
                                  "client": "ui", "properties": {"record": f"opportunity-{i}"}}) + "\n")
    db.session.commit()
    env = {**os.environ, "UPTAKE_ENV": "testing", "UPTAKE_SECRET_KEY": app.config["SECRET_KEY"],
           "UPTAKE_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "UPTAKE_INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", RUN_AND_MEASURE, str(events)], check=False, cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"accepted={EVENTS} duplicates=0 rejected=0" in done.stdout, done.stdout
    peak_kb = int(done.stdout.rsplit("peak_kb=", 1)[1])
    assert peak_kb < BUDGET_KB, f"peak RSS {peak_kb // 1024} MB"
