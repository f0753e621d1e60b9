"""What the tests share, in one place; the fixtures are in tests/conftest.py.

- factories: course content on disk, agencies, units, accounts and completions
- pages: what a person does through the test client (sign in, open the lessons, answer a quiz)
- dates: dates written as text, and an officer's today
- roster_world, fuzz: the small organisations the roster, dashboard and property-based tests use
- databases: a database of a test's own that commits for real
- fault_app: the site with a fault the fault tests set off
"""
