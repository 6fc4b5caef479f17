"""The dashboard in a real browser, against the real server and database (scripts/browser).

Live updates: the list and the job page follow the events streams (GET /api/jobs/events,
GET /api/jobs/{id}/events); the "within 1 s" checks need them (the page's polling fallback
refreshes every 2 s, too slow to pass).
"""
from __future__ import annotations

import os
import time

import requests
from conftest import (BASE_URL, bar_value, cell, row, screenshot, sign_in, wait, wait_row)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

EDITOR_A = os.environ.get("BROWSER_SESSION_EDITOR_A", "")
VIEWER_A = os.environ.get("BROWSER_SESSION_VIEWER_A", "")
MULTI = os.environ.get("BROWSER_SESSION_MULTI", "")
LOAD = os.environ.get("BROWSER_SESSION_LOAD", "")
ORG_A = os.environ.get("BROWSER_ORG_A", "org_a")
ORG_B = os.environ.get("BROWSER_ORG_B", "org_b")


def by_testid(testid: str):
    return (By.CSS_SELECTOR, f"[data-testid='{testid}']")


def open_job(driver, job_id: str) -> None:
    driver.get(f"{BASE_URL}/dashboard/jobs/{job_id}")
    wait(driver, 10).until(EC.text_to_be_present_in_element(by_testid("job-id"), job_id))
    wait(driver, 10).until(lambda d: d.find_element(*by_testid("job-title")).text != "")


def test_sign_in_sets_an_http_only_cookie_and_rejects_a_bad_token(browser):
    d = browser()
    d.get(BASE_URL + "/dashboard")
    # Not signed in: the page says so and links to the sign-in form.
    link = wait(d).until(EC.element_to_be_clickable(by_testid("sign-in-link")))
    assert link.get_attribute("href").endswith("/dashboard/sign-in")

    d.get(BASE_URL + "/dashboard/sign-in")
    field = d.find_element(*by_testid("token-input"))
    assert field.get_attribute("type") == "password"
    field.send_keys("not a token!")
    d.find_element(*by_testid("sign-in-submit")).click()
    error = wait(d).until(EC.presence_of_element_located(by_testid("sign-in-error")))
    assert "not a session token" in error.text
    assert "not a token!" not in d.page_source
    assert d.get_cookie("stytch_session") is None

    sign_in(d, EDITOR_A)
    cookie = d.get_cookie("stytch_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert EDITOR_A not in d.execute_script("return document.cookie")
    assert EDITOR_A not in d.current_url

    # Sign out clears it; the dashboard asks to sign in again.
    d.find_element(*by_testid("sign-out")).click()
    wait(d).until(lambda dr: dr.current_url.endswith("/dashboard/sign-in"))
    assert d.get_cookie("stytch_session") is None
    d.get(BASE_URL + "/dashboard")
    wait(d).until(EC.presence_of_element_located(by_testid("sign-in-link")))

    # Neither the good token nor the bad one reached the server's log.
    log = open(os.environ["BROWSER_SERVER_LOG"], encoding="utf-8", errors="replace").read()
    assert "/dashboard/sign-in" in log
    assert EDITOR_A not in log and "not a token" not in log


def test_the_list_shows_seeded_jobs_newest_first(browser, worker_a, unique):
    ids = [worker_a.create(f"seeded-{unique}-{i}", total=10 * (i + 1)) for i in range(3)]
    worker_a.progress(ids[1], mark_started=True, processed_items=5, stage="loading", message="batch 1/4")
    d = browser()
    sign_in(d, EDITOR_A)
    for job_id in ids:
        wait_row(d, job_id)
    rows = [r.get_attribute("data-job-id") for r in d.find_elements(By.CSS_SELECTOR, "tr[data-testid=job-row]")]
    positions = [rows.index(job_id) for job_id in ids]
    assert positions == sorted(positions, reverse=True), "newest first"
    assert cell(d, ids[0], "job-type") == f"seeded-{unique}-0"
    assert cell(d, ids[0], "status-badge") == "Pending"
    assert cell(d, ids[1], "status-badge") == "Running"
    assert cell(d, ids[1], "processed") == "5 / 20"
    assert cell(d, ids[1], "stage") == "loading"
    assert cell(d, ids[1], "message") == "batch 1/4"
    assert bar_value(d, ids[1]) == "25"
    bar = row(d, ids[1]).find_element(By.CSS_SELECTOR, "[role=progressbar]")
    assert bar.get_attribute("aria-valuemin") == "0" and bar.get_attribute("aria-valuemax") == "100"
    assert bar.get_attribute("aria-label")

    # The status filter asks the server for that status only.
    Select(d.find_element(*by_testid("status-filter"))).select_by_value("in_progress")
    wait(d).until(lambda dr: "status=in_progress" in dr.current_url)
    wait_row(d, ids[1])
    wait(d).until(lambda dr: not dr.find_elements(By.CSS_SELECTOR, f"tr[data-job-id='{ids[0]}']"))
    statuses = {r.get_attribute("data-status") for r in d.find_elements(By.CSS_SELECTOR, "tr[data-testid=job-row]")}
    assert statuses == {"in_progress"}


def seed_showcase(worker) -> dict[str, str]:
    """A few jobs in varied states, so the screenshots show what the list looks like in use."""
    jobs = {}
    jobs["done"] = worker.create("nightly-export", total=1200, metadata={"destination": "s3://exports/nightly"})
    worker.progress(jobs["done"], mark_started=True, processed_items=1200, stage="uploading", message="1200 rows written")
    worker.progress(jobs["done"], mark_completed=True)
    jobs["partial"] = worker.create("catalog-import", total=500)
    worker.progress(jobs["partial"], mark_started=True, processed_items=480, stage="validating")
    for i in range(3):
        worker.progress(jobs["partial"], error={"entity_key": f"SKU-{i}", "entity_type": "product",
                                                "error_type": "validation", "message": "price missing"})
    worker.progress(jobs["partial"], mark_completed=True)
    jobs["failed"] = worker.create("crm-sync", total=50)
    worker.progress(jobs["failed"], mark_started=True, mark_failed="CRM API answered 401: credentials expired")
    jobs["running"] = worker.create("price-enrichment", total=2000)
    worker.progress(jobs["running"], mark_started=True, processed_items=600, stage="transforming",
                    message="batch 3/10", warning={"entity_key": "SKU-77", "entity_type": "product",
                                                   "error_type": "stale", "message": "price older than 30 days"})
    jobs["pending"] = worker.create("image-crawl", total=300)
    return jobs


def test_progress_updates_the_row_live_within_a_second(browser, worker_a, unique):
    seed_showcase(worker_a)
    job_id = worker_a.create(f"enrichment-{unique}", total=200)
    d = browser()
    sign_in(d, EDITOR_A)
    wait_row(d, job_id)
    assert bar_value(d, job_id) == "0"
    wait(d).until(lambda dr: dr.find_element(*by_testid("live-status")).text != "Connecting…")
    d.execute_script("window.__marker = 'no reload'")

    worker_a.progress(job_id, mark_started=True, processed_items=90, stage="transforming", message="batch 9/20",
                      error={"entity_key": "row-7", "entity_type": "row", "error_type": "validation",
                             "message": "bad date"})
    # Within 1 s of the worker's report, without a reload.
    wait(d, 1.0, 0.02).until(lambda dr: bar_value(dr, job_id) == "45.5")
    assert cell(d, job_id, "processed") == "90 / 200"
    assert cell(d, job_id, "failed") == "1"
    assert cell(d, job_id, "status-badge") == "Running"
    assert cell(d, job_id, "stage") == "transforming"
    assert cell(d, job_id, "success-rate") == "98.9 %"
    assert d.execute_script("return window.__marker") == "no reload"

    worker_a.progress(job_id, processed_items_delta=60, warning={"entity_key": "row-9", "entity_type": "row",
                                                                  "error_type": "format", "message": "trimmed"})
    wait(d, 1.0, 0.02).until(lambda dr: bar_value(dr, job_id) == "75.5")
    assert cell(d, job_id, "warned") == "1"
    assert d.execute_script("return window.__marker") == "no reload"
    screenshot(d, "dashboard-list.png")


def test_a_new_job_appears_at_the_top_without_a_reload(browser, worker_a, unique):
    d = browser()
    sign_in(d, EDITOR_A)
    wait(d).until(lambda dr: dr.find_element(*by_testid("live-status")).text != "Connecting…")
    d.execute_script("window.__marker = 'kept'")
    job_id = worker_a.create(f"arrival-{unique}")
    wait_row(d, job_id, timeout=1.0)
    first = d.find_element(By.CSS_SELECTOR, "tr[data-testid=job-row]")
    assert first.get_attribute("data-job-id") == job_id
    assert d.execute_script("return window.__marker") == "kept"


def test_a_terminal_status_updates_the_badge(browser, worker_a, unique):
    job_id = worker_a.create(f"finishing-{unique}", total=10)
    worker_a.progress(job_id, mark_started=True, processed_items=4)
    d = browser()
    sign_in(d, EDITOR_A)
    wait_row(d, job_id)
    assert cell(d, job_id, "status-badge") == "Running"
    worker_a.progress(job_id, processed_items=10, mark_completed=True)
    wait(d, 3.0).until(lambda dr: cell(dr, job_id, "status-badge") == "Completed")
    assert row(d, job_id).get_attribute("data-status") == "completed"
    assert bar_value(d, job_id) == "100"

    # The job page follows it too.
    other = worker_a.create(f"failing-{unique}", total=10)
    worker_a.progress(other, mark_started=True)
    open_job(d, other)
    assert d.find_element(*by_testid("status-badge")).text == "Running"
    worker_a.progress(other, mark_failed="disk full")
    wait(d, 3.0).until(lambda dr: dr.find_element(*by_testid("status-badge")).text == "Failed")
    assert d.find_element(*by_testid("message")).text == "disk full"


def test_a_stalled_job_shows_a_badge_and_a_report_clears_it(browser, worker_a, unique):
    # A job with its own 1-second threshold: its views say stalled once it is silent that long.
    job = worker_a.call("POST", "/api/jobs/", {"job_type": f"stalling-{unique}", "total_items": 100,
                                               "stall_after": 1}, expect=201)
    job_id = job["job_id"]
    calm = worker_a.create(f"calm-{unique}", total=10)
    worker_a.progress(calm, mark_started=True)
    worker_a.progress(job_id, mark_started=True, processed_items=10)
    time.sleep(1.2)
    worker_a.progress(job_id, processed_items_delta=0)  # one more sample a second later: an ETA
    time.sleep(1.2)
    assert worker_a.job(job_id)["stalled"] is True
    d = browser()
    sign_in(d, EDITOR_A)
    wait_row(d, job_id)
    wait_row(d, calm)
    wait(d).until(lambda dr: row(dr, job_id).find_element(*by_testid("stalled-badge")).is_displayed())
    assert row(d, job_id).find_element(*by_testid("stalled-badge")).text == "Stalled"
    assert not row(d, calm).find_element(*by_testid("stalled-badge")).is_displayed()

    open_job(d, job_id)
    badge = d.find_element(*by_testid("stalled-badge"))
    assert badge.is_displayed() and "No progress report since" in badge.get_attribute("title")
    assert d.find_element(*by_testid("last-report")).text != "—"
    # A report ends the stall; the page follows it live.
    worker_a.progress(job_id, processed_items_delta=40)
    wait(d, 3.0).until(lambda dr: not dr.find_element(*by_testid("stalled-badge")).is_displayed())
    assert d.find_element(*by_testid("eta")).text != "—"


def test_the_errors_table_pages_through_the_cursor(browser, worker_a, unique):
    job_id = worker_a.create(f"errors-{unique}", total=100,
                             metadata={"source": "s3://bucket/import.csv", "requested_by": "ops"})
    worker_a.progress(job_id, mark_started=True, stage="validating")
    for i in range(30):  # 25 a page: two pages
        worker_a.progress(job_id, processed_items_delta=2,
                          error={"entity_key": f"row-{i:03d}", "entity_type": "row", "error_type": "validation",
                                 "message": f"value {i} out of range", "step": "validate"})
    d = browser()
    sign_in(d, EDITOR_A)
    wait_row(d, job_id).find_element(*by_testid("job-link")).click()
    wait(d, 10).until(EC.text_to_be_present_in_element(by_testid("job-id"), job_id))
    wait(d).until(lambda dr: len(dr.find_elements(*by_testid("error-row"))) == 25)
    first_page = [r.text for r in d.find_elements(*by_testid("error-row"))]
    assert "row-000" in first_page[0]
    assert d.find_element(*by_testid("errors-page")).text == "Page 1"
    assert d.find_element(*by_testid("error-count")).text == "30"
    assert '"requested_by": "ops"' in d.find_element(*by_testid("metadata")).text

    d.find_element(*by_testid("errors-next")).click()
    wait(d).until(lambda dr: dr.find_element(*by_testid("errors-page")).text == "Page 2")
    wait(d).until(lambda dr: len(dr.find_elements(*by_testid("error-row"))) == 5)
    second_page = [r.text for r in d.find_elements(*by_testid("error-row"))]
    assert "row-025" in second_page[0] and "row-029" in second_page[-1]
    assert not set(first_page) & set(second_page)
    assert not d.find_element(*by_testid("errors-next")).is_enabled()
    d.find_element(*by_testid("errors-prev")).click()
    wait(d).until(lambda dr: dr.find_element(*by_testid("errors-page")).text == "Page 1")
    wait(d).until(lambda dr: "row-000" in dr.find_elements(*by_testid("error-row"))[0].text)

    # A live update of the header, then the screenshot of a job page in use.
    d.execute_script("window.__marker = 'job page'")
    worker_a.progress(job_id, processed_items_delta=10, message="re-validating rows 60-70",
                      warning={"entity_key": "row-070", "entity_type": "row", "error_type": "format",
                               "message": "whitespace trimmed"})
    wait(d, 1.0, 0.02).until(lambda dr: dr.find_element(*by_testid("processed")).text == "70")
    assert d.find_element(*by_testid("message")).text == "re-validating rows 60-70"
    wait(d, 3.0).until(lambda dr: len(dr.find_elements(*by_testid("warning-row"))) == 1)
    assert d.execute_script("return window.__marker") == "job page"
    d.execute_script("window.scrollTo(0, 0)")
    screenshot(d, "dashboard-job.png")


def test_cancel_works_for_an_editor_after_confirming(browser, worker_a, unique):
    job_id = worker_a.create(f"cancellable-{unique}", total=10)
    worker_a.progress(job_id, mark_started=True, processed_items=3)
    d = browser()
    sign_in(d, EDITOR_A)
    open_job(d, job_id)
    button = wait(d).until(EC.element_to_be_clickable(by_testid("cancel-button")))

    button.click()  # dismissed: nothing happens
    wait(d).until(EC.alert_is_present())
    d.switch_to.alert.dismiss()
    time.sleep(0.3)
    assert worker_a.job(job_id)["status"] == "in_progress"

    button.click()
    wait(d).until(EC.alert_is_present())
    assert job_id in d.switch_to.alert.text
    d.switch_to.alert.accept()
    wait(d, 3.0).until(lambda dr: dr.find_element(*by_testid("status-badge")).text == "Cancelled")
    job = worker_a.job(job_id)
    assert job["status"] == "cancelled"
    assert job["error_message"] == "Cancelled from the dashboard"
    assert not d.find_element(*by_testid("cancel-button")).is_displayed()
    # The worker learns of it on its next report.
    assert worker_a.call("POST", f"/api/jobs/{job_id}/progress", {"processed_items": 4}, expect=409)


def test_cancel_is_absent_for_a_viewer(browser, worker_a, unique):
    job_id = worker_a.create(f"viewer-sees-{unique}", total=10)
    worker_a.progress(job_id, mark_started=True)
    d = browser()
    sign_in(d, VIEWER_A)
    wait_row(d, job_id)
    open_job(d, job_id)
    assert d.find_element(*by_testid("status-badge")).text == "Running"
    assert d.find_elements(*by_testid("cancel-button")) == []
    # And the server refuses a viewer's cancel anyway (the cookie, same origin).
    r = requests.post(f"{BASE_URL}/api/jobs/{job_id}/cancel", cookies={"stytch_session": VIEWER_A},
                      headers={"Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert r.status_code == 403


def test_another_organizations_jobs_never_appear(browser, worker_a, worker_b, unique):
    secret_type = f"beta-confidential-{unique}"
    b_jobs = [worker_b.create(secret_type, total=5) for _ in range(2)]
    worker_b.progress(b_jobs[0], mark_started=True, processed_items=2)
    a_job = worker_a.create(f"acme-own-{unique}")
    d = browser()
    sign_in(d, EDITOR_A)
    wait_row(d, a_job)
    time.sleep(1.0)  # let any live event arrive, too
    assert secret_type not in d.page_source
    for job_id in b_jobs:
        assert not d.find_elements(By.CSS_SELECTOR, f"tr[data-job-id='{job_id}']")
    worker_b.progress(b_jobs[1], mark_started=True)
    time.sleep(1.0)
    assert secret_type not in d.page_source
    # B's job page is a 404 for A.
    d.get(f"{BASE_URL}/dashboard/jobs/{b_jobs[0]}")
    wait(d).until(EC.presence_of_element_located(by_testid("not-found")))
    assert secret_type not in d.page_source


def test_the_org_switcher_changes_the_list(browser, worker_a, worker_b, unique):
    a_job = worker_a.create(f"in-a-{unique}")
    b_job = worker_b.create(f"in-b-{unique}")
    d = browser()
    d.get(BASE_URL + "/dashboard")
    d.execute_script("localStorage.clear()")
    sign_in(d, MULTI)
    switcher = wait(d).until(EC.visibility_of_element_located(by_testid("org-switcher")))
    options = [o.get_attribute("value") for o in Select(switcher).options]
    assert options == [ORG_A, ORG_B] or sorted(options) == sorted([ORG_A, ORG_B])
    Select(switcher).select_by_value(ORG_A)
    wait_row(d, a_job)
    assert not d.find_elements(By.CSS_SELECTOR, f"tr[data-job-id='{b_job}']")

    Select(d.find_element(*by_testid("org-switcher"))).select_by_value(ORG_B)
    wait_row(d, b_job)
    wait(d).until(lambda dr: not dr.find_elements(By.CSS_SELECTOR, f"tr[data-job-id='{a_job}']"))
    # multi is a viewer in org_b: no Cancel there.
    open_job(d, b_job)
    assert d.find_elements(*by_testid("cancel-button")) == []

    # The choice is remembered.
    d.get(BASE_URL + "/dashboard")
    wait_row(d, b_job)
    assert Select(d.find_element(*by_testid("org-switcher"))).first_selected_option.get_attribute("value") == ORG_B


def test_phone_width_has_no_horizontal_overflow(browser, worker_a, unique):
    job_id = worker_a.create(f"a-rather-long-job-type-name-for-a-phone-screen-{unique}", total=1000)
    worker_a.progress(job_id, mark_started=True, processed_items=123, stage="transforming-with-a-long-stage-name",
                      message="x" * 300)
    d = browser(375, 800)
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": 375, "height": 800, "deviceScaleFactor": 2, "mobile": True})
    sign_in(d, EDITOR_A)
    wait_row(d, job_id)
    assert d.execute_script("return window.innerWidth") == 375
    widths = d.execute_script(
        "return [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[2] and widths[1] <= widths[2], f"horizontal overflow: {widths}"
    assert row(d, job_id).find_element(By.CSS_SELECTOR, "[role=progressbar]").is_displayed()
    open_job(d, job_id)
    widths = d.execute_script(
        "return [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[2] and widths[1] <= widths[2], f"job page overflows: {widths}"


def test_keyboard_reaches_the_filter_and_the_jobs(browser, worker_a, unique):
    job_id = worker_a.create(f"keyboard-{unique}")
    d = browser()
    sign_in(d, EDITOR_A)
    wait_row(d, job_id)
    d.execute_script("document.activeElement && document.activeElement.blur()")
    reached = []
    for _ in range(15):
        ActionChains(d).send_keys(Keys.TAB).perform()
        active = d.switch_to.active_element
        reached.append(active.get_attribute("data-testid") or active.tag_name)
        if reached[-1] == "job-link":
            break
    assert "status-filter" in reached and "job-link" in reached, reached
    # Enter on a focused job link opens the job.
    d.switch_to.active_element.send_keys(Keys.ENTER)
    wait(d).until(lambda dr: "/dashboard/jobs/" in dr.current_url)
    wait(d).until(lambda dr: dr.find_element(*by_testid("job-title")).text != "")


def test_a_thousand_jobs_stay_usable(browser, worker_load):
    ids = [worker_load.create(f"bulk-{i:04d}", total=100) for i in range(1000)]
    d = browser()
    sign_in(d, LOAD)
    wait_row(d, ids[-1])
    assert len(d.find_elements(By.CSS_SELECTOR, "tr[data-testid=job-row]")) == 50
    started = time.monotonic()
    while d.find_elements(By.CSS_SELECTOR, "[data-testid=load-more]:not([hidden])"):
        count = len(d.find_elements(By.CSS_SELECTOR, "tr[data-testid=job-row]"))
        d.find_element(*by_testid("load-more")).click()
        wait(d, 5).until(lambda dr: len(dr.find_elements(By.CSS_SELECTOR, "tr[data-testid=job-row]")) > count)
    assert len(d.find_elements(By.CSS_SELECTOR, "tr[data-testid=job-row]")) == 1000
    assert time.monotonic() - started < 30
    # A live update of the oldest job, far down the list, still lands within a second.
    d.execute_script("window.__marker = 'thousand'")
    worker_load.progress(ids[0], mark_started=True, processed_items=50)
    wait(d, 1.0, 0.02).until(lambda dr: bar_value(dr, ids[0]) == "50")
    assert d.execute_script("return window.__marker") == "thousand"
    assert d.find_element(*by_testid("job-count")).text == "1,000 jobs shown"
