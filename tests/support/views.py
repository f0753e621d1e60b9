"""Every view of the app and the roles that may reach it."""

# Who may reach each view; every view of the app must be listed (tests/test_auth.py checks it),
# so a new one is classified here.
EVERYONE = {"officer", "coordinator", "compliance", "admin"}
VIEW_ROLES = {
    "admin.account": {"admin"}, "admin.agency": {"admin"}, "admin.org": {"admin"}, "admin.unit": {"admin"},
    "admin.users": {"admin"}, "admin.reset_two_step": {"admin"},
    "imports.confirm": {"coordinator", "admin"}, "imports.upload": {"coordinator", "admin"},
    "assignments.assign": {"coordinator", "admin"}, "assignments.delete_rule": {"coordinator", "admin"},
    "assignments.exempt": {"coordinator", "admin"}, "assignments.extend": {"coordinator", "admin"},
    "assignments.remind": {"coordinator", "admin"}, "assignments.rules": {"coordinator", "admin"},
    "assignments.set_due": {"coordinator", "admin"}, "assignments.withdraw": {"coordinator", "admin"},
    "assignments.bulk": {"coordinator", "admin"},
    # Any officer asks for more time on their own assignment; supervisors (officers too) and coordinators decide,
    # whose requests each may decide being the check inside the view.
    "assignments.request_more_time": EVERYONE, "assignments.requests": EVERYONE, "assignments.decide": EVERYONE,
    "auth.invite_unit": {"coordinator", "admin"},
    "people.units": {"coordinator", "compliance", "admin"}, "people.unit": {"coordinator", "compliance", "admin"},
    "reports.roster_csv": {"compliance", "admin"}, "reports.roster_page": {"compliance", "admin"},
    "reports.roster_download": {"compliance", "admin"}, "reports.acknowledgements_download": {"compliance", "admin"},
    "reports.compliance": {"coordinator", "compliance", "admin"},
    "reports.compliance_csv": {"coordinator", "compliance", "admin"},
    "reports.questions": {"coordinator", "compliance", "admin"},
    "reports.questions_csv": {"coordinator", "compliance", "admin"},
    "people.team": EVERYONE, "people.officer": EVERYONE,
    "home.index": EVERYONE,
    "learn.attempt": EVERYONE, "learn.course": EVERYONE, "learn.dashboard": EVERYONE, "learn.history": EVERYONE,
    "learn.lesson": EVERYONE, "learn.result": EVERYONE, "learn.save_answers": EVERYONE, "learn.start_quiz": EVERYONE,
    "updates.update": EVERYONE, "updates.start_quiz": EVERYONE,
    "auth.logout": EVERYONE, "auth.password": EVERYONE, "auth.two_step": EVERYONE, "auth.setup": EVERYONE,
    "auth.new_recovery_codes": EVERYONE, "auth.turn_off": EVERYONE,
    # The second sign-in step: without a password just given in this browser, it sends back to sign-in.
    "auth.code": EVERYONE, "auth.enrol": EVERYONE,
    # Staff list the documents; managing roles publish them; everyone reads and signs them.
    "documents.index": {"coordinator", "compliance", "admin"},
    "documents.publish_new": {"coordinator", "admin"}, "documents.publish_version": {"coordinator", "admin"},
    "documents.read": EVERYONE, "documents.file": EVERYONE,
    "reminders.mine": EVERYONE, "feeds.new_address": EVERYONE, "reminders.outbox": {"admin"}, "reminders.retry": {"admin"},
    # Open to every role; whose records one sees is the scope check inside the view.
    "records.transcript": EVERYONE, "records.certificate": EVERYONE,
    "records.revoke": {"compliance", "admin"},
    "evidence.packet": {"compliance", "admin"},
    "audit.events": {"compliance", "admin"}, "audit.export": {"compliance", "admin"}, "audit.verify_chain": {"admin"},
    "admin.api_tokens": {"admin"}, "admin.revoke_api_token": {"admin"},
}
# Views anyone may open without signing in: a third party checking a certificate; someone who forgot their
# password, or follows an invitation or reset link, or a calendar fetching a person's feed (the token in it is
# the check); the start of single sign-on and the provider's answer; the API's description of itself (no data).
PUBLIC = {"auth.login", "records.verify", "records.verify_form", "auth.forgot_password", "auth.reset_password",
          "auth.accept_invitation", "auth.oidc_start", "auth.oidc_callback", "feeds.feed", "api.description"}
# The JSON API's views: no sign-in, no cookie; each needs an API token (Authorization: Bearer) and refuses a
# request without one with 401 (tests/test_api.py checks every one).
TOKEN = {"api.officers", "api.officer", "api.completions", "api.assignments", "api.roster"}
# Read by machines, without sign-in, session or cookie: the health checks (no personal data) for load balancers
# and monitors, and the metrics for Prometheus, which only METRICS_ALLOW's addresses or METRICS_TOKEN may read
# (tests/test_ops_*.py check each).
OPERATIONS = {"ops.healthz", "ops.readyz", "ops.metrics"}
URL_VALUES = {"code": "AGY-U1", "name": "roster", "user_id": 1, "assignment_id": 1, "rule_id": 1,
              "attempt_id": 1, "slug": "01-topic-1", "message_id": 1, "completion_id": 1,
              "request_id": 1, "token": "not-a-token", "number": 1, "employee_id": "E1", "token_id": 1}


def every_view(app):
    """(endpoint, method, path) of every view a sign-in is needed for, with made-up values in the path."""
    yield from _views(app, lambda endpoint: endpoint != "static" and endpoint not in PUBLIC | TOKEN | OPERATIONS)


def token_views(app):
    """(endpoint, method, path) of every view an API token is needed for."""
    yield from _views(app, lambda endpoint: endpoint in TOKEN)


def _views(app, wanted):
    for rule in app.url_map.iter_rules():
        if not wanted(rule.endpoint):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", str(URL_VALUES[name])).replace(f"<{name}>", str(URL_VALUES[name]))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path
