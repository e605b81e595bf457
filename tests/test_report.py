"""`pysentry report`: a fio run's JSON trace becomes an HTML page with four
charts; headless Chromium renders it and the screenshot shows them."""
import os
import shutil
import subprocess
import sys

from harness import REPO

# matplotlib's own colours for the charts' first line and the mix bars.
BLUE = (0x1f, 0x77, 0xb4)
ORANGE = (0xd0, 0x80, 0x40)


def _pixels(path):
    from matplotlib import image
    img = image.imread(path)[:, :, :3]
    return (img * 255).round().astype(int)


def _near(px, rgb, tol=12):
    import numpy
    return int((numpy.abs(px - numpy.array(rgb)).max(axis=2) <= tol).sum())


def _non_white(px):
    return float((px.min(axis=2) < 240).mean())


def test_report_of_a_fio_run_renders_in_chromium(tmp_path):
    chromium = shutil.which("chromium")
    assert chromium, "headless Chromium is needed: `make deps` installs Debian's chromium"
    env = dict(os.environ, PYTHONPATH=REPO)
    trace = tmp_path / "fio.jsonl"
    fio = subprocess.run(
        [sys.executable, "-m", "pysentry", "run", "--trace-uring", "--trace-format", "json",
         "-o", str(trace), "--", "fio", "--name=r", "--filename=%s" % (tmp_path / "f"),
         "--size=1M", "--bs=4k", "--rw=randrw", "--ioengine=io_uring", "--iodepth=8",
         "--iodepth_batch_submit=4", "--number_ios=600", "--invalidate=0"],
        capture_output=True, text=True, timeout=300, env=env, cwd=str(tmp_path))
    assert fio.returncode == 0, fio.stderr
    proc = subprocess.run([sys.executable, "-m", "pysentry", "report", str(trace), "-o",
                           str(tmp_path / "report")], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    index = tmp_path / "report" / "index.html"
    assert proc.stdout.strip() == str(index)
    page = index.read_text()
    assert "<td>READ</td>" in page and "<td>WRITE</td>" in page
    for name in ("depth.png", "latency.png", "enters.png", "opmix.png"):
        assert 'src="%s"' % name in page
        px = _pixels(tmp_path / "report" / name)
        assert _non_white(px) > 0.02, name          # axes, labels and data drawn
    # The opcode mix has two orange bars, the latency chart blue READ steps.
    assert _near(_pixels(tmp_path / "report" / "opmix.png"), ORANGE) > 2000
    assert _near(_pixels(tmp_path / "report" / "latency.png"), BLUE) > 200

    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1000,2400", "--screenshot=%s" % shot, index.as_uri()],
                   capture_output=True, timeout=120, cwd=str(tmp_path))
    px = _pixels(shot)
    # Chromium drew the page and loaded the images: the charts' colours are
    # on screen (a broken image would show neither).
    assert _non_white(px) > 0.05
    assert _near(px, ORANGE) > 2000
    assert _near(px, BLUE) > 200
