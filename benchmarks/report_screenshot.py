"""Check the --report page in a real browser: run `zhclean run samples/ --report out/report.html`,
load the page in headless Chromium, save a screenshot (out/report.png) and print the console
errors it logged and whether the page rendered (its DOM holds the report's sections).

    python benchmarks/report_screenshot.py [--out DIR] [--width 1200] [--height 2000]

Exit status 1 when Chromium is missing, the run failed, the page logged a console error or did
not render."""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Chromium logs a page's console messages as `... CONSOLE(12)] "message", source: ...`; an
# uncaught error or a resource that failed to load also says so.
CONSOLE_ERROR = re.compile(r"CONSOLE\(\d+\)|Uncaught|Failed to load resource|ERR_", re.I)
SECTIONS = ("Summary", "Rejects by stage and reason", "Examples", "Records that lost most lines")


def chromium() -> str | None:
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                 "google-chrome"))), None)


def browse(browser: str, page: Path, *flags: str) -> subprocess.CompletedProcess:
    """Headless Chromium on a file, logging the page's console to stderr. A throwaway profile;
    no sandbox, which root (a container) cannot have."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *flags,
             page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120)


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE_ERROR.search(line)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=2000)
    args = parser.parse_args()
    browser = chromium()
    if browser is None:
        print("no chromium on PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    report, png = args.out / "report.html", args.out / "report.png"
    run = subprocess.run(["zhclean", "run", "samples/", "-q", "--report", str(report),
                          "-o", str(args.out / "report-run.jsonl")], cwd=ROOT)
    if run.returncode != 0:
        print(f"zhclean run failed with exit status {run.returncode}", file=sys.stderr)
        return 1
    shot = browse(browser, report, f"--screenshot={png}",
                  f"--window-size={args.width},{args.height}", "--hide-scrollbars")
    dom = browse(browser, report, "--dump-dom")
    errors = console_errors(shot.stderr) + console_errors(dom.stderr)
    missing = [s for s in SECTIONS if f"<h2>{s}</h2>" not in dom.stdout]
    print(f"report: {report} ({report.stat().st_size:,} bytes)")
    print(f"screenshot: {png}" if png.exists() else "screenshot: not written")
    print(f"rendered: {'yes' if not missing else 'missing ' + ', '.join(missing)}")
    print(f"console errors: {len(errors)}")
    for line in errors:
        print(f"  {line}")
    return 1 if errors or missing or not png.exists() else 0


if __name__ == "__main__":
    sys.exit(main())
