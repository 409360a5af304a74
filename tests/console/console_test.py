#!/usr/bin/python3
"""Drives the admin console in headless Chromium through WebDriver.

Run by tests/check_console.c against a real ezapi with PostgreSQL and
Redis: argv[1] is a JSON file with the server's URL, tokens and the rows
the C side planted. Prints `RESULT name=value` lines that the C side checks
against the API and Redis, and exits 1 with `FAIL: why` on the first
broken expectation. Screenshots go to the directory named in the file.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CFG = json.load(open(sys.argv[1]))
BASE = CFG['base']
SHOTS = CFG['shots']
MARKUP = CFG['markup']
PAGES = ['overview', 'providers', 'models', 'namespaces', 'bindings', 'explain',
         'masters', 'audit', 'features', 'outbox', 'resync', 'migrate']
DOWNLOADS = CFG['downloads']
IMPORT_TOKEN = 'sk-ConsoleImported0123'
IMPORT_DOC = {
    'version': '1.0.0',
    'source': {'type': 'new-api', 'version': 'v0.6', 'exported_at': '2026-11-30T08:00:00Z'},
    'data': {
        'providers': [{'name': 'imported-up', 'type': 'openai', 'api_key': 'sk-imported-up',
                       'models': ['gpt-4o'], 'primary_group': 'default', 'weight': 1,
                       'status': 'active'}],
        'masters': [{'name': 'imported-master', 'namespaces': ['imported-ns'],
                     'default_namespace': 'imported-ns'}],
        'keys': [{'master_ref': 'imported-master', 'original_token': IMPORT_TOKEN,
                  'status': 'active'}],
        'bindings': [{'namespace': 'imported-ns', 'route_group': 'default', 'model': 'gpt-4o'}]}}


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


def result(name, value):
    print(f'RESULT {name}={value}', flush=True)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()


def jwt(claims, secret):
    head = b64url(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f'{head}.{body}'.encode(), hashlib.sha256).digest()
    return f'{head}.{body}.{b64url(sig)}'


def browser():
    o = webdriver.ChromeOptions()
    o.binary_location = CFG.get('chromium', '/usr/bin/chromium')
    for a in ['--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu',
              '--window-size=1280,800', '--no-first-run', '--disable-extensions',
              f'--user-data-dir={CFG["profile"]}']:
        o.add_argument(a)
    o.add_experimental_option('prefs', {'download.default_directory': DOWNLOADS,
                                        'download.prompt_for_download': False})
    o.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    return webdriver.Chrome(service=Service(CFG.get('chromedriver', '/usr/bin/chromedriver')),
                            options=o)


D = browser()


def wait(fn, why, timeout=15):
    try:
        return WebDriverWait(D, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: fn())
    except TimeoutException:
        raise Fail(f'timed out waiting: {why}')


def css(sel, root=None):
    return (root or D).find_elements(By.CSS_SELECTOR, sel)


def one(sel, root=None):
    found = css(sel, root)
    check(found, f'no element {sel}')
    return found[0]


def console_errors(allowed=()):
    """The browser's SEVERE log entries since the last call, except the
    failed loads a step caused on purpose (their status in `allowed`)."""
    bad = []
    for e in D.get_log('browser'):
        if e['level'] != 'SEVERE':
            continue
        msg = e['message']
        if any(f'status of {s} ' in msg for s in allowed):
            continue
        bad.append(msg)
    return bad


def no_console_errors(where, allowed=()):
    errs = console_errors(allowed)
    check(not errs, f'{where}: browser console errors: {errs}')


def inert():
    """Planted markup never became an element and never ran."""
    check(not css('main img'), 'planted markup became an <img> element')
    check(D.execute_script('return window.pwned === undefined'), 'a planted onerror ran')


def go(page):
    D.execute_script('window.location.hash = arguments[0]', f'#/{page}')
    wait(lambda: css(f'#page-{page}'), f'page {page}')
    # loading notes disappear once every request of the page has answered
    wait(lambda: D.execute_script(
        'return ![...document.querySelectorAll(".note")]'
        '.some((e) => e.textContent.endsWith("\\u2026"))'), f'{page} loaded')
    time.sleep(0.3)


def fill(form, values):
    for name, value in values.items():
        el = one(f'[name="{name}"]', form)
        if el.tag_name == 'select':
            D.execute_script('arguments[0].value = arguments[1]', el, value)
        elif el.get_attribute('type') == 'checkbox':
            if el.is_selected() != value:
                el.click()
        elif el.tag_name == 'textarea' and len(value) > 200:
            D.execute_script('arguments[0].value = arguments[1]', el, value)
        else:
            el.clear()
            el.send_keys(value)
    one('button[type="submit"]', form).click()


def signed_in():
    return css('#signout') and css('#page-overview')


def sign_in_form(token):
    D.get(f'{BASE}/ui/')
    form = wait(lambda: css('.signin form') and one('.signin form'), 'the sign-in form')
    field = one('input[name="token"]', form)
    check(one(f'label[for="{field.get_attribute("id")}"]'), 'the token field has no label')
    fill(form, {'token': token})


def step_sign_in_and_out():
    sign_in_form(CFG['admin_token'])
    wait(signed_in, 'the overview after signing in with the form')
    check(D.execute_script('return sessionStorage.getItem("ezapi.token")') == CFG['admin_token'],
          'the token is not in sessionStorage')
    check(D.execute_script('return localStorage.length') == 0, 'something went to localStorage')
    one('#signout').click()
    wait(lambda: css('.signin form'), 'the sign-in form after signing out')
    check(D.execute_script('return sessionStorage.getItem("ezapi.token")') is None,
          'sign-out kept the token')
    no_console_errors('sign-in')
    result('signin_form', 'ok')


def step_refused_tokens():
    # an expired token, typed in: back to the form, with the server's reason
    expired = jwt({'iss': CFG.get('issuer', 'ezapi'), 'sub': 'old', 'role': 'admin',
                   'exp': int(time.time()) - 3600}, CFG['admin_secret'])
    sign_in_form(expired)
    wait(lambda: 'expired' in D.find_element(By.TAG_NAME, 'main').text,
         'the reason "expired" on the sign-in form')
    check(css('.signin input[name="token"]'), 'not back at the sign-in form')
    # a token refused while signed in (signature from another secret)
    D.get(f'{BASE}/ui/')
    forged = jwt({'iss': 'ezapi', 'sub': 'x', 'role': 'admin', 'exp': int(time.time()) + 600},
                 'not-the-secret-not-the-secret-not-the-secret')
    D.execute_script('sessionStorage.setItem("ezapi.token", arguments[0])', forged)
    D.get(f'{BASE}/ui/#/namespaces')
    wait(lambda: css('.signin form') and 'Signed out' in one('main').text,
         'the sign-in form with the reason after a refused token')
    no_console_errors('refused tokens', allowed=(401,))
    result('refused', 'ok')


def step_url_link():
    D.get(CFG['link'])
    wait(signed_in, 'the overview after opening the --url link')
    check('token' not in D.current_url, f'the token stayed in the address bar: {D.current_url}')
    check(D.execute_script('return history.length') >= 1, 'no history')
    check(D.execute_script('return sessionStorage.getItem("ezapi.token")') == CFG['link_token'],
          'the link token is not in sessionStorage')
    no_console_errors('--url link')
    result('url_link', 'ok')


def shoot(name):
    D.save_screenshot(os.path.join(SHOTS, f'{name}.png'))


def step_every_page():
    for page in PAGES:
        go(page)
        inert()
        no_console_errors(f'page {page}')
        for el in css('input, select, textarea'):
            name = el.get_attribute('name')
            check(name, f'{page}: an input without a name')
            check(css(f'label[for="{el.get_attribute("id")}"]'), f'{page}: {name} has no label')
        shoot(page)
    result('pages', len(PAGES))


def step_phone():
    D.set_window_size(390, 844)
    try:
        for page in PAGES:
            go(page)
            wide = D.execute_script(
                'return document.documentElement.scrollWidth - window.innerWidth')
            check(wide <= 0, f'{page} is {wide}px wider than a 390px phone screen')
            shoot(f'phone-{page}')
        no_console_errors('phone layout')
    finally:
        D.set_window_size(1280, 800)
    result('phone', 'ok')


def step_markup_shown_as_text():
    for page in ['masters', 'features', 'audit', 'namespaces']:
        go(page)
        check(MARKUP in one('main').text, f'{page}: the planted value is not shown as text')
        inert()
    no_console_errors('planted markup')
    result('markup', 'inert')


def step_custom_provider():
    go('providers')
    form = one('form.custom-provider')
    fill(form, {'name': 'console-made', 'base_url': 'https://llm.example.com/v1',
                'api_key': 'sk-console-0123456789', 'models': 'gpt-4o-mini, gpt-4o',
                'weight': '3'})
    note = wait(lambda: [e for e in css('.note.ok', form) if 'created group' in e.text],
                'the created note')[0]
    gid = note.text.split('#')[1].split(' ')[0]
    result('custom_group_id', gid)
    check('sk-console-0123456789' not in one('main').text, 'the upstream key is shown in clear')
    # the list shows it after the create
    wait(lambda: 'console-made' in one('section.list').text, 'the new group in the list')
    # a refusal of the API next to its field: base_url
    form = one('form.custom-provider')
    fill(form, {'name': 'console-bad', 'base_url': 'not-a-url', 'api_key': 'k',
                'models': 'm', 'weight': '1'})
    err = wait(lambda: css('.field-error', form), 'the base_url error')[0]
    parent = err.find_element(By.XPATH, '..')
    check(css('[name="base_url"]', parent), 'the error is not next to base_url')
    no_console_errors('custom provider', allowed=(400,))
    result('custom_provider', 'ok')


def open_group(name):
    go('providers')
    row = wait(lambda: [r for r in css('section.list tbody tr') if name in r.text],
               f'group {name} in the list')[0]
    one('button', row).click()
    return wait(lambda: css('#group-detail h2') and name in one('#group-detail h2').text and
                one('#group-detail'), f'the detail of {name}')


def step_group_edit_and_delete_409():
    detail = open_group('console-made')
    keyrow = wait(lambda: css('#group-detail section.list tbody tr td[data-label="weight"]'),
                  'the key list')[0].find_element(By.XPATH, '..')
    [b for b in css('button', keyrow) if b.text == 'Edit'][0].click()
    form = wait(lambda: css('form.key-edit-form', detail), 'the key form')[0]
    fill(form, {'weight': '7'})
    wait(lambda: [td for td in css('#group-detail td[data-label="weight"]') if td.text == '7'],
         'the new weight in the key list')
    result('key_weight', '7')
    # a group that a binding still uses: the API's 409 reason is shown
    detail = open_group('explain-grp')
    button = one('button[data-action="Delete group"]', detail)
    button.click()
    button.click()
    wait(lambda: [n for n in css('#group-detail .note.error') if '1 binding' in n.text],
         'the 409 reason')
    no_console_errors('group edit and delete', allowed=(409,))
    result('delete_409', 'shown')


def step_422_next_to_field():
    go('bindings')
    form = one('form.binding-form')
    fill(form, {'namespace': CFG['namespace'], 'public_model': 'gpt-4o',
                'group_id': '987654', 'weight': '1'})
    err = wait(lambda: css('.field-error', form), 'the 422 error')[0]
    check(err.get_attribute('data-param') == 'group_id', f'param {err.get_attribute("data-param")}')
    parent = err.find_element(By.XPATH, '..')
    check(css('[name="group_id"]', parent), 'the 422 is not next to group_id')
    check('does not exist' in err.text, f'the message is not the API\'s: {err.text}')
    no_console_errors('422', allowed=(422,))
    result('error_422', err.text.replace('\n', ' '))


def step_master_key_once():
    go('masters')
    form = one('form.create-master')
    fill(form, {'name': 'console-master', 'max_child_keys': '4'})
    code = wait(lambda: css('.secret .secret-value'), 'the new master key')[0]
    key = code.text
    check(key.startswith('ezm_'), f'not a master key: {key}')
    check(len(css('.secret')) == 1, 'the secret is shown more than once')
    check(one('.secret button.copy').is_enabled(), 'no copy button')
    result('master_key', key)
    # never again: not after opening the master, not after coming back
    row = wait(lambda: [r for r in css('section.list tbody tr') if 'console-master' in r.text],
               'the new master in the list')[0]
    one('button', row).click()
    wait(lambda: css('#master-detail h2'), 'the master detail')
    check(key not in D.page_source, 'the master key is shown again')
    go('overview')
    go('masters')
    check(key not in D.page_source, 'the master key is shown again after navigating')
    check(key not in (D.execute_script('return JSON.stringify(sessionStorage)') or ''),
          'the master key was stored')
    no_console_errors('master key')


def step_explain():
    go('explain')
    form = one('form.explain-form')
    fill(form, {'key_id': str(CFG['explain_key_id']), 'model': CFG['explain_model']})
    box = wait(lambda: css('.explanation', form), 'the explanation')[0]
    text = box.text
    check('routed' in text and 'not routed' not in text, f'not routed: {text}')
    check(CFG['explain_group'] in text, f'the group is not in the explanation: {text}')
    shoot('explain-result')
    no_console_errors('explain')
    result('explain', 'routed')


def step_import():
    go('migrate')
    form = one('form.import-form')
    check(one('[name="dry_run"]', form).is_selected(), 'dry_run is not the default')
    fill(form, {'document': json.dumps(IMPORT_DOC), 'include_bindings': True})
    box = wait(lambda: css('.import-answer .import-result'), 'the dry run answer')[0]
    check('dry run' in box.text, f'not a dry run: {box.text}')
    check(not css('.secret'), 'a dry run showed a master key')
    created = one('td[data-label="created"]', [r for r in css('tr', box) if 'masters' in r.text][0])
    check(created.text == '1', f'the dry run would create {created.text} masters')
    result('import_dry_run', 'ok')
    one('button[data-action="Import for real"]').click()
    code = wait(lambda: css('.import-answer .secret .secret-value'), 'the imported master key')[0]
    key = code.text
    check(key.startswith('ezm_'), f'not a master key: {key}')
    check(len(css('.secret')) == 1, 'the imported master key is shown more than once')
    check('imported and committed' in one('.import-answer').text, 'no committed note')
    result('import_master_key', key)
    shoot('migrate-imported')
    go('overview')
    go('migrate')
    check(key not in D.page_source, 'the imported master key is shown again')
    no_console_errors('import')
    result('import', 'ok')


def step_import_422():
    go('migrate')
    bad = json.loads(json.dumps(IMPORT_DOC))
    bad['data']['masters'] = []
    bad['data']['keys'].insert(0, {'master_ref': 'imported-master', 'original_token': 'sk-x1234567890'})
    bad['data']['keys'].append({'master_ref': 'nobody' + MARKUP, 'original_token': 'sk-y1234567890'})
    form = one('form.import-form')
    fill(form, {'document': json.dumps(bad), 'dry_run': False})
    box = wait(lambda: css('.import-errors'), 'the 422 item errors')[0]
    row = [r for r in css('tbody tr', box) if 'master_ref' in r.text]
    check(row, f'no error naming master_ref: {box.text}')
    index = one('td[data-label="index"]', row[-1]).text
    check(index == '2', f'the error names index {index}, not 2: {box.text}')
    check('nothing was written' in one('.import-answer').text, 'the 422 is not said')
    check(not css('button[data-action="Import for real"]'), 'offered to import a refused document')
    inert()
    D.execute_script('arguments[0].scrollIntoView()', box)
    shoot('migrate-422')
    no_console_errors('import 422', allowed=(422,))
    result('import_422', f'keys[{index}].master_ref')


def step_import_litellm():
    go('migrate')
    yaml = ('model_list:\n'
            '  - model_name: docs-llama\n'
            '    litellm_params:\n'
            '      model: hosted_vllm/meta-llama/Llama-3-8B-Instruct\n'
            '      api_base: http://10.1.2.3:8000/v1\n'
            '      api_key: docs-vllm-key\n')
    form = one('form.import-form')
    fill(form, {'from': 'litellm', 'document': yaml, 'namespace': 'llama-ns', 'dry_run': True})
    box = wait(lambda: css('.import-answer .import-result'), 'the LiteLLM dry run answer')[0]
    check('dry run' in box.text, f'not a dry run: {box.text}')
    row = [r for r in css('tr', box) if 'provider_groups' in r.text][0]
    check(one('td[data-label="created"]', row).text == '1', f'LiteLLM dry run: {box.text}')
    no_console_errors('LiteLLM import')
    result('import_litellm', 'dry run')


def step_export():
    go('migrate')
    before = set(os.listdir(DOWNLOADS))
    form = one('form.export-form')
    one('button[type="submit"]', form).click()
    wait(lambda: css('.note.ok', form), 'the export note')

    def done():
        new = [f for f in set(os.listdir(DOWNLOADS)) - before if f.endswith('.json')]
        return new and new[0]
    name = wait(done, 'the downloaded export file', timeout=20)
    doc = json.load(open(os.path.join(DOWNLOADS, name)))
    names = [m['name'] for m in doc['data']['masters']]
    check('imported-master' in names, f'the export lacks the imported master: {names}')
    check(not any(p.get('api_key') for p in doc['data']['providers']),
          'an export without include_secrets holds upstream keys')
    no_console_errors('export')
    result('export', name)


def edit_row(row_text, container='section.list'):
    row = wait(lambda: [r for r in css(f'{container} tbody tr') if row_text in r.text],
               f'{row_text} in the list')[0]
    [b for b in css('button', row) if b.text == 'Edit'][0].click()


def step_edit_forms():
    go('models')
    fill(one('form.card:not(.filters):not(.model-edit)'), {'name': 'console-model'})
    edit_row('console-model')
    form = wait(lambda: css('form.model-edit'), 'the model form')[0]
    fill(form, {'context_window': '4096', 'cost_per_token': '0.5'})
    wait(lambda: css('.note.ok', form), 'the model saved')
    # a refusal of the API next to its field
    fill(form, {'context_window': '-3'})
    err = wait(lambda: css('.field-error', form), 'the context_window error')[0]
    check(err.get_attribute('data-param') == 'context_window', err.get_attribute('data-param'))
    go('namespaces')
    edit_row('team-a')
    form = wait(lambda: css('form.namespace-edit'), 'the namespace form')[0]
    fill(form, {'description': 'edited in the console'})
    wait(lambda: 'edited in the console' in one('section.list').text, 'the new description')
    detail = open_group('console-made')
    form = one('form.group-edit', detail)
    fill(form, {'type': 'compatible', 'base_url': 'https://llm2.example.com/v1'})
    wait(lambda: 'llm2.example.com' in one('#group-detail').text, 'the new base_url')
    go('masters')
    row = wait(lambda: [r for r in css('section.list tbody tr') if 'tenant' in r.text],
               'the tenant master')[0]
    one('button', row).click()
    wait(lambda: css('#master-detail h2'), 'the master detail')
    edit_row('k1', '#master-detail section.list')
    form = wait(lambda: css('form.child-key-edit'), 'the child key form')[0]
    fill(form, {'name': 'k1-renamed', 'model_limits': 'gpt-4o, gpt-4o-mini'})
    wait(lambda: css('.note.ok', form), 'the child key saved')
    form = one('form.child-key-access')
    fill(form, {'namespaces': 'team-a', 'default_namespace': 'team-a'})
    wait(lambda: css('.note.ok', form), 'the child key access saved')
    fill(form, {'namespaces': 'team-a', 'default_namespace': 'no-such-ns'})
    err = wait(lambda: css('.field-error', form), 'the default_namespace error')[0]
    check(err.get_attribute('data-param') == 'default_namespace', err.get_attribute('data-param'))
    shoot('masters-child-key-edit')
    go('bindings')
    wait(lambda: [td for td in css('td[data-label="resolves to"]') if '\u2192 gpt-4o' in td.text],
         'a binding with its resolved candidate')
    shoot('bindings-candidates')
    no_console_errors('edit forms', allowed=(400, 422))
    result('edit_forms', 'ok')


def step_viewer():
    D.get(f'{BASE}/ui/')
    D.execute_script('sessionStorage.clear()')
    sign_in_form(CFG['viewer_token'])
    wait(signed_in, 'the overview as a viewer')
    check('viewer' in one('#who').text, 'the role is not shown')
    for page in ['providers', 'models', 'namespaces', 'bindings', 'masters', 'features',
                 'migrate']:
        go(page)
        if page in ('models', 'namespaces'):
            edit_row('')  # the edit form opens, disabled
        if page == 'migrate':
            check(not one('[name="include_secrets"]').is_enabled(),
                  'include_secrets is enabled for a viewer')
        writes = [f for f in css('form:not(.filters):not(.explain-form):not(.export-form) fieldset')]
        check(writes, f'{page}: no write form found')
        for fs in writes:
            check(not fs.is_enabled() or fs.get_attribute('disabled') is not None,
                  f'{page}: a write form is enabled for a viewer')
            check(not one('button[type="submit"]', fs).is_enabled(),
                  f'{page}: a submit button is enabled for a viewer')
        for b in css('button[data-action]'):
            check(not b.is_enabled(), f'{page}: action {b.text} is enabled for a viewer')
        shoot(f'viewer-{page}')
    # reading still works, and explain (which changes nothing) too
    go('explain')
    form = one('form.explain-form')
    fill(form, {'key_id': str(CFG['explain_key_id']), 'model': CFG['explain_model']})
    wait(lambda: css('.explanation', form), 'the explanation as a viewer')
    no_console_errors('viewer')
    result('viewer', 'read-only')


def step_overview_verify():
    D.execute_script('sessionStorage.setItem("ezapi.token", arguments[0])', CFG['admin_token'])
    go('overview')
    one('button[data-action="Verify now"]').click()
    wait(lambda: 'keys checked' in one('#verify-result').text or
         'differs' in one('#verify-result').text, 'the verify result')
    check('worker-0' in one('main').text, 'no per-process counts from /metrics')
    shoot('overview')
    no_console_errors('overview')
    result('verify', one('#verify-result').text.split('\n')[0])


def main():
    steps = [step_sign_in_and_out, step_refused_tokens, step_url_link, step_custom_provider,
             step_group_edit_and_delete_409, step_422_next_to_field, step_master_key_once, step_explain, step_every_page,
             step_import, step_import_422, step_import_litellm, step_export, step_edit_forms,
             step_markup_shown_as_text, step_phone, step_overview_verify, step_viewer]
    only = os.environ.get('CONSOLE_STEPS')
    try:
        for s in steps:
            if only and s.__name__ not in only.split(','):
                continue
            s()
            print(f'ok {s.__name__}', flush=True)
    except Fail as e:
        shoot('failure')
        print(f'FAIL: {e}', flush=True)
        return 1
    finally:
        D.quit()
    print('PASS', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
