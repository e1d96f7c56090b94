"""The sign-in pages in a real browser: CSP-clean, keyboard and small-screen friendly, themed."""

import pytest

from accounts import roles
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def test_sign_in_in_chromium_without_csp_errors(page, live_server, shot):
    UserFactory(username="vera", roles=[roles.VIEWER])
    sign_in(page, live_server, "vera")
    assert page.url == f"{live_server.url}/"
    assert page.get_by_role("heading", level=1).first.is_visible()
    shot(page, "home-desktop")
    assert page.console_errors == []


def test_wrong_password_message_and_keyboard_only_sign_in(page, live_server):
    UserFactory(username="vera", roles=[roles.VIEWER])
    page.goto(f"{live_server.url}/terms/")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.evaluate("document.activeElement.id") == "id_username"  # autofocus
    page.locator("#id_username").fill("vera")
    page.locator("#id_password").fill("Wrong-pass-123!")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Invalid username or password.").is_visible()
    assert page.console_errors == []


def test_small_screen_menu_and_theme_switch(browser, live_server, shot):
    UserFactory(username="vera", roles=[roles.VIEWER])
    context = browser.new_context(viewport={"width": 360, "height": 740}, color_scheme="light")
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    sign_in(page, live_server, "vera")
    # No horizontal scrolling at 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    toggle = page.locator("[data-nav-toggle]")
    assert toggle.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    shot(page, "home-360-menu-open")
    # The theme switcher cycles to an explicit theme; dark puts the class on <html>.
    for _ in range(3):
        if page.evaluate("document.documentElement.classList.contains('dark')"):
            break
        page.locator("[data-theme-toggle]").click()
    assert page.evaluate("document.documentElement.classList.contains('dark')")
    page.reload()
    assert page.evaluate("document.documentElement.classList.contains('dark')")  # remembered
    shot(page, "home-360-dark")
    assert errors == []
    context.close()


def test_registration_page_in_the_browser(page, live_server, shot):
    page.goto(f"{live_server.url}/accounts/register/")
    page.locator("#id_username").fill("newdoc")
    page.locator("#id_email").fill("newdoc@hospital.example")
    page.locator("#id_full_name").fill("New Doctor")
    page.locator("#id_employee_id").fill("E100")
    page.locator("#id_password1").fill("Str0ng!Passw0rd")
    page.locator("#id_password2").fill("Str0ng!Passw0rd")
    page.locator("#id_accept_terms").check()
    shot(page, "register")
    page.get_by_role("button", name="Send registration").click()
    page.wait_for_load_state("networkidle")
    assert "/accounts/register/done/" in page.url
    assert page.console_errors == []


def test_confirm_it_is_you_then_add_sms_codes_by_keyboard(page, live_server, shot):
    import re

    from accounts.sms import LocmemBackend

    UserFactory(username="vera", roles=[roles.VIEWER])
    sign_in(page, live_server, "vera")
    # A later visit asks for the password again before a sign-in method can be added.
    page.goto(f"{live_server.url}/accounts/security/confirm/?next=/accounts/security/sms/")
    assert page.evaluate("document.activeElement.id") == "id_password"  # autofocus
    shot(page, "reauth")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/accounts/security/sms/")
    page.get_by_label("Mobile number").fill("+919812345678")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/accounts/security/sms/verify/")
    shot(page, "sms-verify")
    code = re.search(r"\b(\d{6})\b", LocmemBackend.outbox[-1][1]).group(1)
    page.get_by_label("Verification code").fill(code)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Your backup codes").wait_for()
    assert page.get_by_text("Sign-in codes will now be sent to your mobile by SMS.").is_visible()
    assert page.console_errors == []
