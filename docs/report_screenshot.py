"""Regenerate docs/report.png, the README's picture of `corpusforge report`: run the demo into a
temporary directory, write its report, and take a screenshot of the page's top with headless
Chromium (Debian: `apt-get install chromium`), the network off, reduced to a small PNG.

    python docs/report_screenshot.py [--output docs/report.png] [--height 1700]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=str(Path(__file__).with_name("report.png")))
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=2350, help="pixels of the page's top to show (default: %(default)s)")
    args = parser.parse_args(argv)
    browser = next((p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))), None)
    if browser is None:
        print("needs headless Chromium (apt-get install chromium)", file=sys.stderr)
        return 2

    from PIL import Image

    from corpusforge.analysis.report import write_report
    from corpusforge.cli import main as corpusforge

    with tempfile.TemporaryDirectory(prefix="corpusforge-screenshot-") as tmp:
        demo = Path(tmp) / "corpusforge-demo"
        if corpusforge(["demo", "--output", str(demo), "--no-progress"]) != 0:
            return 1
        page, _ = write_report(str(demo))
        with socket.socket() as s:  # a proxy port nobody listens on: the network is off
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        raw = Path(tmp) / "raw.png"
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--proxy-server=http://127.0.0.1:{port}"]
        flags += ["--no-first-run", "--disable-background-networking", f"--user-data-dir={tmp}/profile"]
        flags += [f"--window-size={args.width},{args.height}", f"--screenshot={raw}", Path(page).as_uri()]
        subprocess.run([browser, *flags], check=True, capture_output=True, timeout=120)
        image = Image.open(raw).convert("RGB")
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.Resampling.LANCZOS)
        image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(args.output, optimize=True)
    print(f"{args.output}: {Path(args.output).stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
