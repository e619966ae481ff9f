"""Headless Chromium (Debian's package) driven over the Chrome DevTools Protocol.

No driver download, no network: Chromium is started with a fresh profile, every background
service off and ``--remote-debugging-port=0``; the port it picked is read from the profile's
``DevToolsActivePort`` file and the page target is driven over its websocket with
``websocket-client``. Used by tests/browser/test_report_browser.py and
benchmarks/report_bench.py.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]


class BrowserError(RuntimeError):
    pass


def find_chromium():
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise BrowserError("chromium not found (Debian: apt-get install -y chromium)")


class Browser:
    """One Chromium process with one page; ``with Browser() as b: b.load(path)``."""

    def __init__(self, width=1400, height=900, timeout=60):
        self.width, self.height, self.timeout = width, height, timeout
        self.profile = tempfile.mkdtemp(prefix="report-chromium-")
        self.proc = None
        self.ws = None
        self._id = 0
        self.events = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        args = [find_chromium()] + FLAGS + ["--user-data-dir=%s" % self.profile,
                                            "--window-size=%d,%d" % (self.width, self.height), "about:blank"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + self.timeout
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if self.proc.poll() is not None or time.time() > deadline:
                raise BrowserError("chromium did not start (exit %s)" % self.proc.poll())
            time.sleep(0.05)
        port = int(open(port_file).read().split()[0])
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10) as resp:
            targets = json.load(resp)
        page = [t for t in targets if t.get("type") == "page"][0]
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=self.timeout, suppress_origin=True)
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height, deviceScaleFactor=1,
                  mobile=False)

    def stop(self):
        if self.ws is not None:
            try:
                self.ws.close()
            except (OSError, websocket.WebSocketException):
                pass
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method, **params):
        self._id += 1
        mid = self._id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise BrowserError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method):
        for index, msg in enumerate(self.events):
            if msg.get("method") == method:
                del self.events[: index + 1]
                return msg
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("method") == method:
                return msg
            self.events.append(msg)

    def load(self, path):
        """Open a local file; returns the seconds from navigation to the load event."""
        self.events = []
        t0 = time.perf_counter()
        self.call("Page.navigate", url="file://" + os.path.abspath(path))
        self.wait_event("Page.loadEventFired")
        return time.perf_counter() - t0

    def js(self, expression):
        """Evaluate JavaScript in the page; returns its value (JSON-able); raises on exceptions."""
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise BrowserError("javascript error: %s" % json.dumps(res["exceptionDetails"])[:2000])
        return res.get("result", {}).get("value")

    def errors(self):
        """Uncaught exceptions and console errors seen so far."""
        out = []
        for msg in self.events:
            if msg.get("method") == "Runtime.exceptionThrown":
                out.append(msg["params"]["exceptionDetails"].get("text"))
            elif msg.get("method") == "Runtime.consoleAPICalled" and msg["params"].get("type") == "error":
                out.append(str(msg["params"].get("args")))
        return out

    def screenshot(self, path, full_page=False, clip_height=None):
        params = {"format": "png"}
        if full_page or clip_height:
            height = clip_height or self.js("document.documentElement.scrollHeight")
            params["clip"] = {"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", **params)["data"]
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(data))
        return path

    def print_pdf(self, path):
        data = self.call("Page.printToPDF", printBackground=True)["data"]
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(data))
        return path

    def media(self, media):
        self.call("Emulation.setEmulatedMedia", media=media)
