"""`importer onboard` end to end: the CLI as a subprocess against sandboxes over HTTP.

Three clients into one instance, and three clients into three instances (each key in its own
environment variable); each course once, unique per client, with the client's tags and custom
fields; a fourth client added by running again; undo of one client, then of the whole onboarding."""

from collections import Counter

import openpyxl

from importer.sandbox import Sandbox

from ..conftest import run_cli

KEY = "onboard-test-key"
TEMPLATE = """Title,Course Type,Slug,External ID,Tags,customFields.level
Welcome,course,welcome,W-1,onboarding,1
Security basics,video,security-basics,W-2,"security, onboarding",2
Our tools,article,,W-3,,
Compliance,course,compliance,,compliance,3
"""


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def onboard(*args, env=None):
    return run_cli("onboard", *args, "--rate-limit", "600", env={"TI_API_KEY": KEY, **(env or {})}, timeout=180)


def live(sandbox):
    return [c for c in sandbox.store.all() if c["publishedStatus"] != "archived"]


def posts(sandbox):
    return sandbox.stats()["byMethod"].get("POST", 0)


def rollup_clients(path):
    rows = list(openpyxl.load_workbook(path)["Clients"].iter_rows(values_only=True))
    return {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}


def test_three_clients_into_one_instance_then_a_fourth_then_undo_of_one(tmp_path):
    template = write(tmp_path / "template.csv", TEMPLATE)
    clients = write(tmp_path / "clients.csv", "Client,Client key,Tags,customFields.region\n"
                                               "Acme Corp,acme,client-acme,EU\nGlobex,globex,,US\n"
                                               "Initech,initech,\"initech, tier-2\",\n")
    with Sandbox(rate_limit=60, rate_window=2, api_key=KEY, seed=6) as sandbox:
        url = ("--base-url", sandbox.base_url)
        plan = onboard(template, "--clients", clients, *url, "--dry-run")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert [line.split() for line in plan.stdout.splitlines() if line.startswith("  Globex")] == \
            [["Globex", "4", "0", "0", "0", "0"]]
        assert posts(sandbox) == 0

        done = onboard(template, "--clients", clients, *url, "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        courses = live(sandbox)
        assert len(courses) == 12 and len({c["title"] for c in courses}) == 12
        by_title = {c["title"]: c for c in courses}
        acme = by_title["Security basics (Acme Corp)"]
        assert acme["slug"] == "security-basics-acme" and acme["externalId"] == "acme-W-2"
        assert acme["tags"] == ["security", "onboarding", "client-acme"]
        assert acme["customFields"] == {"level": 2, "region": "EU"}
        globex = by_title["Our tools (Globex)"]
        assert globex["externalId"] == "globex-W-3" and globex["tags"] == ["globex"]
        assert globex["customFields"] == {"region": "US"}
        assert by_title["Compliance (Initech)"]["tags"] == ["compliance", "initech", "tier-2"]
        assert "externalId" not in by_title["Compliance (Initech)"] or \
            by_title["Compliance (Initech)"]["externalId"] is None
        assert set(rollup_clients(tmp_path / "template.onboarding.xlsx")) == {"acme", "globex", "initech"}

        # A fourth client: only its courses are sent; the others' are already there.
        write(clients, clients.read_text() + "Umbrella,umbrella,,\n")
        sent = posts(sandbox)
        more = onboard(template, "--clients", clients, *url, "--yes")
        assert more.returncode == 0, more.stdout + more.stderr
        assert posts(sandbox) == sent + 4 and len(live(sandbox)) == 16
        assert Counter(r["created"] for r in rollup_clients(tmp_path / "template.onboarding-2.xlsx").values()) == \
            {0: 3, 4: 1}

        # Undo one client: its four courses archived, nobody else's touched.
        undone = run_cli("undo", tmp_path / "template.globex.results.xlsx", *url, "--yes", env={"TI_API_KEY": KEY})
        assert undone.returncode == 0, undone.stdout + undone.stderr
        assert sorted(c["title"] for c in sandbox.store.all() if c["publishedStatus"] == "archived") == \
            ["Compliance (Globex)", "Our tools (Globex)", "Security basics (Globex)", "Welcome (Globex)"]
        assert len(live(sandbox)) == 12


def test_three_clients_on_three_instances_each_with_its_own_key_and_the_whole_undo(tmp_path):
    template = write(tmp_path / "template.csv", TEMPLATE)
    keys = {"acme": "key-acme-1", "globex": "key-globex-2", "initech": "key-initech-3"}
    boxes = {name: Sandbox(rate_limit=30, rate_window=2, api_key=key, seed=n) for n, (name, key) in
             enumerate(keys.items())}
    for box in boxes.values():
        box.start()
    try:
        lines = ["Client,Client key,Base URL,Key variable,customFields.tier"]
        lines += [f"{name.title()},{name},{box.base_url},{name.upper()}_TI_KEY,{n}"
                  for n, (name, box) in enumerate(boxes.items())]
        clients = write(tmp_path / "clients.csv", "\n".join(lines) + "\n")
        env = {f"{name.upper()}_TI_KEY": key for name, key in keys.items()}

        unset = onboard(template, "--clients", clients, "--yes", env={"ACME_TI_KEY": "key-acme-1"})
        assert unset.returncode == 2 and "GLOBEX_TI_KEY (row 3, Globex)" in unset.stderr
        assert all(posts(box) == 0 for box in boxes.values())

        only = onboard(template, "--clients", clients, "--only", "globex", "--yes", env=env)
        assert only.returncode == 0, only.stdout + only.stderr
        assert [len(live(box)) for box in boxes.values()] == [0, 4, 0]

        done = onboard(template, "--clients", clients, "--yes", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        for n, (name, box) in enumerate(boxes.items()):
            courses = live(box)
            assert len(courses) == 4, name  # each course once, on its client's instance only
            assert {c["externalId"] for c in courses} == {f"{name}-W-1", f"{name}-W-2", f"{name}-W-3", None}
            assert {c["customFields"].get("tier") for c in courses} == {n}
        assert posts(boxes["globex"]) == 4  # the second run sent nothing more there

        rollup = tmp_path / "template.onboarding-2.xlsx"
        assert rollup_clients(rollup)["initech"]["key_variable"] == "INITECH_TI_KEY"
        undone = run_cli("undo", rollup, "--yes", env=env)
        assert undone.returncode == 0, undone.stdout + undone.stderr
        assert [len(live(box)) for box in boxes.values()] == [0, 4, 0]  # globex's were made by the first run
        assert all("key-" not in text for text in (undone.stdout, undone.stderr, done.stdout, done.stderr))
    finally:
        for box in boxes.values():
            box.stop()


def test_a_clients_sheet_never_holds_keys_and_names_its_bad_cells(tmp_path):
    template = write(tmp_path / "template.csv", TEMPLATE)
    secret = write(tmp_path / "secret.csv", "Client,Client key,API key\nAcme,acme,sk-123\n")
    refused = onboard(template, "--clients", secret, "--base-url", "http://127.0.0.1:9", "--yes")
    assert refused.returncode == 2 and "never holds a key" in refused.stderr and "column C" in refused.stderr
    bad = write(tmp_path / "bad.csv", "Client,Client key,Domain\nAcme,Acme Corp,\n,globex,globex\n")
    told = onboard(template, "--clients", bad, "--base-url", "http://127.0.0.1:9", "--yes")
    assert told.returncode == 2
    assert "bad.csv row 2, column B: the client key 'Acme Corp'" in told.stderr
    assert "row 3, column A: the client's name is empty" in told.stderr
    assert "row 3: this client has its own instance; name the environment variable" in told.stderr


def test_onboarding_on_an_instance_speaking_the_content_api(tmp_path):
    """The same road on the content API: found out before anything is sent, each client's courses once with
    its sku (External ID) and custom fields; its tags are said not to reach that API, before the first write."""
    template = write(tmp_path / "template.csv", TEMPLATE)
    clients = write(tmp_path / "clients.csv", "Client,Client key,customFields.region\nAcme Corp,acme,EU\n"
                                               "Globex,globex,US\n")
    with Sandbox(rate_limit=60, rate_window=2, api_key=KEY, seed=7, api="content") as sandbox:
        done = onboard(template, "--clients", clients, "--base-url", sandbox.base_url, "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        said = done.stdout.split("Applying")[0]  # before the first write
        assert said.count(f"Not sent on {sandbox.base_url}: Tags") == 1, done.stdout
        courses = sandbox.store.all()
        assert len(courses) == 8 and len({c["title"] for c in courses}) == 8
        acme = {c["externalId"]: c for c in courses if c["title"].endswith("(Acme Corp)")}
        assert sorted(k for k in acme if k) == ["acme-W-1", "acme-W-2", "acme-W-3"]
        assert {c["customFields"].get("region") for c in acme.values()} == {"EU"}
        again = onboard(template, "--clients", clients, "--base-url", sandbox.base_url, "--yes")
        assert again.returncode == 0 and len(sandbox.store.all()) == 8  # nothing twice


def test_a_clients_sheet_as_people_type_it(tmp_path):
    """Headers in any case and spacing, a key typed in capitals, an Excel sheet with a number for a key, the
    suffixes as typed (a leading space kept), blank rows skipped."""
    import openpyxl

    from importer.run.onboarding import read_clients

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["client name", "CLIENT KEY", "Title Suffix", "tags", "customFields.tier"])
    sheet.append(["Acme Corp", "ACME", " – Acme", "gold; emea", 2])
    sheet.append([None, None, None, None, None])
    sheet.append(["Initech", 42, None, None, None])
    book.save(tmp_path / "clients.xlsx")
    acme, initech = read_clients(tmp_path / "clients.xlsx")
    assert (acme.row, acme.key, acme.title_suffix, acme.tags, acme.custom) == \
        (2, "acme", " – Acme", ["gold", "emea"], {"tier": 2})
    assert (initech.row, initech.key, initech.title_suffix, initech.tags) == (4, "42", " ({client})", ["42"])
    assert initech.fill(initech.title_suffix) == " (Initech)"
