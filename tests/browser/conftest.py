"""Fixtures for the dashboard's browser tests (run by scripts/browser, which starts PostgreSQL and
`jobs-api serve`, seeds organizations, users, sessions and API keys, and exports them).

Everything here talks to the real server: jobs are created and moved by a "worker" using
`requests` with an API key, exactly as a customer's worker would; the browser is Debian's
Chromium, headless, driven by Selenium through Debian's chromedriver.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise AssertionError(f"{name} is not set: run these tests with scripts/browser")
    return value


BASE_URL = _env("BROWSER_BASE_URL")


class Worker:
    """A worker or script calling the API with an API key (Authorization: Bearer)."""

    def __init__(self, key: str):
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, json=None, expect: int | None = 200) -> dict:
        r = self.session.request(method, BASE_URL + path, json=json, timeout=10)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path} → {r.status_code}: {r.text[:300]}"
        return r.json() if r.content else {}

    def create(self, job_type: str, total: int = 100, metadata: dict | None = None) -> str:
        job = self.call("POST", "/api/jobs/", {"job_type": job_type, "total_items": total,
                                               "metadata": metadata or {}}, expect=201)
        return job["job_id"]

    def progress(self, job_id: str, **fields) -> dict:
        return self.call("POST", f"/api/jobs/{job_id}/progress", fields)

    def job(self, job_id: str) -> dict:
        return self.call("GET", f"/api/jobs/{job_id}")


@pytest.fixture(scope="session")
def worker_a() -> Worker:
    return Worker(_env("BROWSER_KEY_A"))


@pytest.fixture(scope="session")
def worker_b() -> Worker:
    return Worker(_env("BROWSER_KEY_B"))


@pytest.fixture(scope="session")
def worker_load() -> Worker:
    return Worker(_env("BROWSER_KEY_LOAD"))


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


def make_driver(width: int = 1280, height: int = 900) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("BROWSER_CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                "--disable-gpu", "--no-first-run", "--disable-extensions", "--lang=en-US"):
        options.add_argument(arg)
    # Console errors (a CSP violation, an exception) are collected and checked after each test.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("BROWSER_CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(20)
    return driver


@pytest.fixture
def browser():
    """Opens browsers on demand (one per person in a test); all are closed at the end, and none of
    them may have logged a JavaScript error or a Content-Security-Policy violation."""
    drivers: list[webdriver.Chrome] = []

    def open_browser(width: int = 1280, height: int = 900) -> webdriver.Chrome:
        d = make_driver(width, height)
        drivers.append(d)
        return d

    yield open_browser
    problems = []
    for d in drivers:
        try:
            for entry in d.get_log("browser"):
                text = entry.get("message", "")
                if entry.get("level") == "SEVERE" and (
                        "Content Security Policy" in text or "Uncaught" in text or "TypeError" in text):
                    problems.append(text)
        finally:
            d.quit()
    assert not problems, "the browser logged errors:\n" + "\n".join(problems)


def wait(driver, timeout: float = 5.0, poll: float = 0.05) -> WebDriverWait:
    return WebDriverWait(driver, timeout, poll_frequency=poll)


def sign_in(driver, token: str) -> None:
    """Signs in through the dashboard's own form (the token travels in a POST body only)."""
    driver.get(BASE_URL + "/dashboard/sign-in")
    field = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=token-input]")))
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "[data-testid=sign-in-submit]").click()
    wait(driver, 10).until(lambda d: d.current_url.rstrip("/").endswith("/dashboard"))
    wait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=jobs-table]")))


def row(driver, job_id: str):
    return driver.find_element(By.CSS_SELECTOR, f"tr[data-job-id='{job_id}']")


def wait_row(driver, job_id: str, timeout: float = 5.0):
    return wait(driver, timeout).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, f"tr[data-job-id='{job_id}']")))


def cell(driver, job_id: str, testid: str) -> str:
    return row(driver, job_id).find_element(By.CSS_SELECTOR, f"[data-testid='{testid}']").text


def bar_value(driver, job_id: str) -> str:
    return row(driver, job_id).find_element(By.CSS_SELECTOR, "[role=progressbar]").get_attribute("aria-valuenow")


def screenshot(driver, name: str) -> None:
    folder = os.environ.get("BROWSER_SCREENSHOTS", "")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(Path(folder) / name)), f"could not save {name}"
