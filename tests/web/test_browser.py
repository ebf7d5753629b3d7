"""The whole migration through the page, in headless Chromium, on the tiny model.

A real server (uvicorn in a thread, the real guided sidekick) and a real worker process (`loraport worker`) on a
fresh workspace. The browser uploads an old LTX-2 LoRA and five clips, answers the wizard, approves, watches the
progress bar reach 100% and the loss chart draw, sees a sample, downloads the LoRA, evaluates it, and generates in
the Studio; then checks the page at a phone's width.
Screenshots land in test-artifacts/browser/.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from safetensors import safe_open

from core.settings import get_settings
from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora
from tests.trainer.clips import make_clip

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
COLORS = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40), (40, 200, 200)]


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium; installed here when missing and we are root (never a browser download of Playwright's)."""
    if not CHROMIUM.exists() and shutil.which("apt-get") and os.geteuid() == 0:
        for cmd in (["apt-get", "install", "-y", "-q", "chromium"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "chromium"]):
            if CHROMIUM.exists():
                break
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(cmd, capture_output=True, timeout=600, env=env)
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed and could not be installed (needs root and apt-get): "
                    "run `apt-get install -y chromium`")
    return CHROMIUM


@pytest.fixture
def served(workspace):
    """The app with the real sidekick on a free loopback port, and the job worker as its own process."""
    from web.app import create_app
    from web.server import ThreadedServer, WorkerProcess

    settings = get_settings()
    worker = WorkerProcess(settings).start()
    try:
        with ThreadedServer(create_app(settings)) as server:
            yield server
    finally:
        worker.stop(grace_s=10)


@pytest.fixture
def files(tmp_path) -> tuple[Path, list[Path]]:
    old = make_ltx2_lora(tmp_path / "my_ltx2_style.safetensors", metadata=ltx2_metadata(), n_blocks=2)
    return old, [make_clip(tmp_path / "clips" / f"clip{i}.mp4", color=c) for i, c in enumerate(COLORS)]


class Page:
    def __init__(self, page):
        self.page = page
        self.n = 0

    def shot(self, name: str) -> None:
        self.n += 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{self.n:02d}-{name}.png"))

    def say(self, text: str, expect: str, timeout_s: float = 60) -> None:
        """Type into the message box, press Enter, wait for one more ``expect`` than there was."""
        before = self.page.locator(expect).count()
        self.page.fill("#composer-text", text)
        self.page.press("#composer-text", "Enter")
        self.page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n", arg=[expect, before],
                                    timeout=timeout_s * 1000)

    def attach(self, paths: list[Path]) -> None:
        before = self.page.locator("[data-upload]").count()
        self.page.set_input_files("#file-pick", [str(p) for p in paths])
        self.page.wait_for_function("n => document.querySelectorAll('[data-upload]').length > n", arg=before)


@pytest.mark.timeout(600)
@pytest.mark.slow
def test_migration_through_the_page_on_the_tiny_model(chromium, served, files, tmp_path):
    from playwright.sync_api import sync_playwright

    old_lora, clips = files
    shutil.rmtree(SHOTS, ignore_errors=True)  # this run's screenshots only
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = context.new_page()
        errors: list[str] = []
        console: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
        p = Page(page)
        try:
            _migrate(p, served.url, old_lora, clips, tmp_path)
            _studio(p)
            _studio_checks_an_old_lora(p, old_lora)
            _phone_width(p)
        finally:
            p.shot("last")
            (SHOTS / "console.txt").write_text("\n".join(console + errors) + "\n")
            browser.close()
    assert errors == [], errors


def _migrate(p: Page, url: str, old_lora: Path, clips: list[Path], tmp_path: Path) -> None:
    page = p.page
    page.goto(url)
    page.wait_for_selector("#conn:text('connected')")
    assert "noise" in page.inner_text("#tiny-note")  # the page says plainly that tiny-model outputs are noise
    greeting = page.locator("[data-greeting]")  # a new conversation opens with a greeting and the Attach button
    assert "Hi!" in greeting.inner_text() and greeting.locator("label[for='file-pick']").count() == 1
    p.attach([old_lora])
    p.say("here is my old LoRA", ".card-inspect")
    assert "loads-but-invalid" in page.text_content(".card-inspect .verdict")
    page.wait_for_selector(".msg.assistant:has-text('recipe?')")
    assert "loads-but-invalid" not in page.locator(".msg.assistant").last.inner_text()  # said once, on its card
    p.say("style", ".card-recipe")
    p.attach(clips)
    p.say("here are my clips", ".card-dataset")
    assert page.locator(".card-dataset .thumbs video").count() == 5
    p.shot("dataset")
    p.say("just ten steps please", ".msg.diff")  # a change is one line of old -> new, not the plan again
    assert page.locator(".msg.diff").last.inner_text().startswith("Changed: steps") and "→ 10" in page.locator(
        ".msg.diff").last.inner_text()
    page.wait_for_selector("#plan tr:has(th:text-is('steps')) td.value:text-is('10')")
    assert page.locator(".card-inspect").count() == 1  # the inspection is shown once, as its card
    p.say("start", ".card-approval button.primary")
    assert "Train a new LoRA" in page.inner_text(".card-approval")
    p.shot("approval")
    page.click(".card-approval button:text('Approve')")
    page.wait_for_selector(".card-job")
    page.wait_for_selector(".card-job.finished", timeout=300_000)
    bar = page.locator(".card-job progress")
    assert bar.get_attribute("value") == bar.get_attribute("max") == "10"
    assert "(100%)" in page.inner_text(".card-job .progress-label")
    assert int(page.get_attribute(".card-job .loss-chart", "data-points")) >= 5
    page.wait_for_function("() => [...document.querySelectorAll('.card-job .samples video')]"
                           ".some(v => v.readyState >= 1)", timeout=30_000)  # a sample clip the browser can play
    page.wait_for_selector("li[data-step='train'].done")
    p.shot("trained")
    with page.expect_download() as info:
        page.click(".card-job a:text('Download the LoRA')")
    saved = tmp_path / "downloaded.safetensors"
    info.value.save_as(saved)
    with safe_open(str(saved), framework="pt") as f:
        assert all(k.startswith("diffusion_model.") for k in f.keys())
    assert page.inner_text(".card-job .trigger") == "ohwx"  # carried over from the old LoRA's metadata
    page.click(".card-job .evaluate-offer button:text('Evaluate it')")  # offered when training ends
    page.wait_for_selector(".card-evaluation", timeout=180_000)  # the evaluation job's verdict, told when it ends
    assert page.text_content(".card-evaluation .verdict strong") in ("weak", "good", "over-fit", "broken")
    assert page.locator(".card-evaluation .pair video").count() >= 2
    page.wait_for_selector("li[data-step='evaluate'].done")
    p.shot("evaluated")
    p.say("which loras do I have?", ".card-loras")
    row = page.locator(".card-loras tbody tr").first
    assert "ohwx" in row.inner_text() and row.locator("a:text('Download')").count() == 1
    assert row.locator("td").nth(3).inner_text() in ("weak", "good", "over-fit", "broken")
    text = page.inner_text("#log")
    for internal in ("set_option", "explain_settings", "list_my_loras", "{'", "\"job_id\""):
        assert internal not in text, internal
    page.reload()  # reloading restores the plan panel and the step strip
    page.wait_for_selector("#conn:text('connected')")
    page.wait_for_selector("#plan tr:has(th:text-is('steps')) td.value:text-is('10')")
    page.wait_for_selector("li[data-step='evaluate'].done")
    assert page.locator("[data-greeting]").count() == 0


def _studio(p: Page) -> None:
    page = p.page
    page.click("#tab-studio")
    page.wait_for_selector("#studio-lora option[value^='job:']", state="attached")
    assert page.input_value("#studio-prompt").startswith("ohwx")  # the trigger word is filled in
    page.fill("#studio-prompt", page.input_value("#studio-prompt") + " a lighthouse at dusk")
    page.click("#studio-form button[type=submit]")
    page.wait_for_selector("#studio-out .side-by-side .clip:nth-child(2) video", timeout=120_000)
    page.wait_for_function("() => [...document.querySelectorAll('#studio-out video')].every(v => v.readyState >= 1)",
                           timeout=30_000)
    assert "noise" in page.inner_text("#studio-out .noise-note")
    p.shot("studio")


def _studio_checks_an_old_lora(p: Page, old_lora: Path) -> None:
    """Dropping an LTX-2 LoRA into the Studio answers "does it still work?" in plain words; the knobs are there."""
    page = p.page
    page.set_input_files("#studio-upload", str(old_lora))
    page.wait_for_selector("#studio-check.verdict-loads-but-invalid")
    assert "On LTX-2.3: loads-but-invalid" in page.inner_text("#studio-check")
    page.fill("#studio-strength", "0.5")
    assert page.inner_text("#studio-strength-out") == "0.50"
    page.click("#studio-form button[type=submit]")  # its keys do not fit the tiny model: a sentence, no traceback
    page.wait_for_selector("#studio-status:has-text('does not load on tiny-ltx-2.3')", timeout=60_000)
    assert "Traceback" not in page.inner_text("#studio-status")
    p.shot("studio-old-lora")


def _phone_width(p: Page) -> None:
    page = p.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("#tab-migrate")
    assert page.evaluate("document.documentElement.scrollWidth") <= 391  # nothing runs off the side
    assert page.evaluate("(() => { const s = document.querySelector('#wizard'); return s.scrollWidth <= s.clientWidth; })()")
    p.shot("phone")


@pytest.fixture
def files_23(tmp_path) -> tuple[Path, list[Path]]:
    """An old tiny-ltx-2.3 LoRA (non-zero B, loraport metadata naming 2.3) and three clips."""
    from safetensors.torch import load_file, save_file

    from tests.tools.lora_factory import loraport_metadata
    from tests.web.test_studio import _comfy_lora

    lora = _comfy_lora(tmp_path / "my_23_style.safetensors")
    save_file(load_file(lora), lora, metadata=loraport_metadata("tiny-ltx-2.3", recipe="style"))
    return lora, [make_clip(tmp_path / "clips" / f"clip{i}.mp4", color=c) for i, c in enumerate(COLORS[:3])]


@pytest.mark.slow  # a real server, worker and Chromium; the as-is renders (~70 s on one core)
@pytest.mark.timeout(420)
def test_ltx25_as_target_through_the_page(chromium, served, files_23):
    """The target select moves the thread to 2.5, the old 2.3 LoRA is judged 'test-first', the as-is test is
    offered before training and runs after the approval, and the Studio renders the LoRA as it is on 2.5."""
    from playwright.sync_api import sync_playwright

    old_lora, clips = files_23
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        p = Page(page)
        p.n = 50  # screenshots after the first test's
        try:
            page.goto(served.url)
            page.wait_for_selector("#conn:text('connected')")
            p.attach([old_lora])
            p.say("here is my old LoRA", ".card-inspect")
            p.say("style", ".card-recipe")
            p.attach(clips)
            p.say("here are my clips", ".card-dataset")
            before = page.locator(".card-inspect").count()
            page.select_option("#target-pick", "2.5")  # the panel's target choice, said to the sidekick
            page.wait_for_function("n => document.querySelectorAll('.card-inspect').length > n", arg=before,
                                   timeout=60_000)
            assert "test-first" in page.locator(".card-inspect .verdict").last.text_content()
            page.wait_for_selector(".msg.assistant:has-text('test it first')")
            page.wait_for_selector("#plan td.value:text-is('tiny-ltx-2.5')", state="attached")
            p.shot("target-25")
            p.say("yes", ".card-approval button.primary")
            page.locator(".card-approval button:text('Approve')").last.click()
            page.wait_for_selector(".card-as-is", timeout=240_000)
            assert page.text_content(".card-as-is .verdict strong") in ("it still works: no retrain needed", "retrain")
            assert page.locator(".card-as-is .pair video").count() >= 2
            p.shot("as-is")
            page.click("#tab-studio")
            page.wait_for_selector("#studio-lora option[value^='upload:'], #studio-lora option", state="attached")
            page.select_option("#studio-model", "ltx-2.5")
            page.set_input_files("#studio-upload", str(old_lora))
            page.wait_for_selector("#studio-status:text('Uploaded')")
            page.fill("#studio-prompt", "a lighthouse at dusk")
            page.click("#studio-form button[type=submit]")
            page.wait_for_selector("#studio-out figcaption:has-text('tiny-ltx-2.5')", timeout=120_000)
            p.shot("studio-25")
        finally:
            browser.close()
    assert errors == [], errors
