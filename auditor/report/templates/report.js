/* report.html behaviour. The finding lists are built here from the JSON data blocks, one page at a
   time: 100,000 findings as markup took 49 s to open. Filters, search and sorting work over the data,
   then the first page of the result is drawn. Everything from the report is set with textContent
   (never innerHTML); platform text sits in <bdi> or dir=auto elements so right-to-left text cannot
   reorder its neighbours. A finding's evidence panel is built on first opening. No request is ever made. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var SEARCH_DELAY_MS = 150;
  var PAGE = 100; /* findings drawn at a time; "Show more" draws the next page */
  var ACT_FIRST_PAGE = 50;
  var COLUMNS = 7;
  var data = null;
  var findings = [];

  /* --- the evidence panel ---------------------------------------------------------------------- */

  /* Parsed on first use (a finding opened, a search made): the page opens without it. */
  function details() {
    if (!data) {
      var block = document.getElementById("details-data");
      data = block ? JSON.parse(block.textContent) : { fields: [], texts: [], findings: [] };
      data.at = {};
      data.fields.forEach(function (name, i) { data.at[name] = i; });
    }
    return data;
  }

  /* Finding `index`'s evidence, links and identifiers as an object; `*` fields resolved from the shared texts. */
  function detail(index) {
    var all = details();
    var item = all.findings[index] || [];
    var out = {};
    all.fields.forEach(function (name, i) {
      if (name.charAt(name.length - 1) === "*") { out[name.slice(0, -1)] = all.texts[item[i]] || ""; } else { out[name] = item[i]; }
    });
    return out;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "class") { node.className = attrs[name]; } else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) { return; }
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  var ACRONYMS = { url: "URL", id: "ID", ap: "AP", its: "ITS" };

  function humanize(key) {
    var text = String(key).replace(/[_-]/g, " ").trim().split(/\s+/).map(function (word) {
      return ACRONYMS[word.toLowerCase()] || word;
    }).join(" ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function scalar(value) {
    if (value === null || value === undefined) { return "—"; }
    if (typeof value === "boolean") { return value ? "yes" : "no"; }
    return String(value);
  }

  function isScalar(value) { return value === null || typeof value !== "object"; }

  function evidenceNode(value) {
    if (Array.isArray(value)) {
      if (!value.length) { return document.createTextNode("none"); }
      if (value.every(isScalar)) { return document.createTextNode(value.map(scalar).join(", ")); }
      return el("ol", { "class": "ev-list" }, value.map(function (item) { return el("li", {}, [evidenceNode(item)]); }));
    }
    if (value && typeof value === "object") {
      return el("dl", { "class": "ev-dl" }, Object.keys(value).map(function (key) {
        return el("div", {}, [el("dt", {}, [humanize(key)]), el("dd", { dir: "auto" }, [evidenceNode(value[key])])]);
      }));
    }
    return document.createTextNode(scalar(value));
  }

  /* Every identity match inside the evidence, wherever the rule nested it. */
  function matchFacts(value, out) {
    if (Array.isArray(value)) {
      value.forEach(function (item) { matchFacts(item, out); });
    } else if (value && typeof value === "object") {
      if ("match_method" in value) {
        out.push({
          identity: value.identity || value.handle || "", method: value.match_method, score: value.match_score,
          candidate: value.best_candidate, candidate_score: value.best_candidate_score, note: value.match_note
        });
      }
      Object.keys(value).forEach(function (key) { if (value[key] && typeof value[key] === "object") { matchFacts(value[key], out); } });
    }
    return out;
  }

  function matchesTable(matches) {
    if (!matches.length) { return null; }
    var head = ["Identity", "Match method", "Score", "Best candidate", "Note"].map(function (text) {
      return el("th", { scope: "col" }, [text]);
    });
    var rows = matches.map(function (m) {
      var candidate = m.candidate ? m.candidate + " (" + scalar(m.candidate_score) + ")" : "—";
      return el("tr", {}, [
        el("td", { dir: "auto" }, [scalar(m.identity)]), el("td", {}, [scalar(m.method)]),
        el("td", { "class": "num" }, [scalar(m.score)]), el("td", { dir: "auto" }, [candidate]),
        el("td", { dir: "auto" }, [scalar(m.note)])
      ]);
    });
    return el("table", { "class": "matches" }, [
      el("caption", {}, ["How identities were matched to the directory"]),
      el("thead", {}, [el("tr", {}, head)]), el("tbody", {}, rows)
    ]);
  }

  var CONFIDENCE_NOTE = {
    likely: " (a probability, not a proof: it rests on a name or look-alike match)",
    declared: " (the platform does not show this; the registry's declaration was used)"
  };

  function waiverList(w) {
    var flag = w.expired ? el("span", { "class": "flag flag-expired" }, ["expired"])
      : (w.expiring_soon ? el("span", { "class": "flag flag-soon" }, ["within 14 days"]) : null);
    function pair(term, value, extra) { return el("div", {}, [el("dt", {}, [term]), el("dd", { dir: "auto" }, [value, extra ? " " : null, extra])]); }
    return [el("h3", {}, ["Waiver"]), el("dl", { "class": "waiver" }, [
      pair("Reason", w.reason), pair("Approved by", w.approver), pair("Expires", w.expires_on, flag),
      w.source ? pair("Source", w.source) : null
    ])];
  }

  function linkParagraph(d, platform) {
    if (d.url && /^https?:\/\//i.test(d.url)) {
      return el("p", {}, [el("a", { "class": "platform-link", href: d.url, rel: "noopener noreferrer", target: "_blank" }, [
        "Open this on " + platform, el("span", { "class": "sr-only" }, [" (opens in a new tab)"])
      ])]);
    }
    if (d.url_text) { return el("p", {}, ["Link (not opened from here): ", el("code", {}, [d.url_text])]); }
    return el("p", {}, ["No link to this content on the platform."]);
  }

  function buildDetail(row) {
    var index = Number(row.dataset.i);
    var d = detail(index);
    var r = findings[index];
    var observed = d.source === "observed";
    var evidence = el("section", { "class": "ev" }, [
      el("h3", {}, ["Evidence ", el("span", { "class": "src src-" + d.source }, [
        observed ? "observed on the platform" : "declared in the registry"])]),
      el("p", { "class": "conf" }, ["Confidence: ", el("strong", {}, [r.confidence]), (CONFIDENCE_NOTE[r.confidence] || "") + "."]),
      matchesTable(matchFacts(d.evidence, [])),
      d.evidence && Object.keys(d.evidence).length ? evidenceNode(d.evidence) : el("p", {}, ["No further evidence recorded."])
    ]);
    var clause = d.clause;
    var policy = el("section", { "class": "policy" }, [
      el("h3", {}, ["AP 80-06: " + d.section]),
      clause ? el("blockquote", {}, [clause]) : el("p", {}, ["(The rule does not quote a clause.)"]),
      el("h3", {}, ["Remediation"]),
      el("p", {}, [d.remediation]),
      linkParagraph(d, r.platform)
    ].concat(r.waiver ? waiverList(r.waiver) : []));
    var meta = el("p", { "class": "meta" }, [
      "School " + r.school + " · account ", el("code", {}, [r.account]),
      " · fingerprint ", el("code", {}, [d.fingerprint]),
      " · subject ", el("code", { dir: "auto" }, [d.subject]),
      " · first seen " + r.first.slice(0, 10) + " (run ", el("code", {}, [d.first_seen_run]),
      "), last seen in run ", el("code", {}, [d.last_seen_run])
    ]);
    return el("div", { role: "cell", "aria-colspan": String(COLUMNS), "class": "detail-grid" }, [evidence, policy, meta]);
  }

  function fillDetail(panel) {
    if (!panel.firstChild) { panel.appendChild(buildDetail(panel.parentNode)); }
  }

  var opened = new Set(); /* findings whose evidence is open: they stay open when a filter or sort redraws the list */

  function toggle(button, open) {
    var target = document.getElementById(button.getAttribute("aria-controls"));
    if (!target) { return; }
    if (target.classList.contains("detail")) {
      if (open) { fillDetail(target); opened.add(Number(target.parentNode.dataset.i)); }
      else { opened.delete(Number(target.parentNode.dataset.i)); }
    }
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (target.classList.contains("detail")) { target.hidden = !open; } else { target.classList.toggle("open", open); }
  }

  /* --- the report data: one object per finding ------------------------------------------------ */

  var RANK = { critical: 5, high: 4, medium: 3, low: 2, info: 1 };
  var STATUS_TEXT = { "new": "New", persisting: "Persisting", unknown: "Unknown", resolved: "Resolved", waived: "Waived" };

  function loadRows() {
    var block = document.getElementById("rows-data");
    var raw = block ? JSON.parse(block.textContent) : { fields: [], texts: [], rows: [], accounts: {}, act_first: [] };
    var at = {};
    raw.fields.forEach(function (name, i) { at[name] = i; });
    var texts = raw.texts;
    function field(row, name) { return name + "*" in at ? texts[row[at[name + "*"]]] : row[at[name]]; }
    findings = raw.rows.map(function (row, i) {
      return {
        i: i, sev: field(row, "sev"), rank: RANK[field(row, "sev")] || 0, status: field(row, "status"),
        rule: field(row, "rule"), school: field(row, "school"), platform: field(row, "platform"),
        account: field(row, "account"), label: field(row, "label"), title: field(row, "title"),
        message: field(row, "message"), owners: field(row, "owners"), ownerLabels: field(row, "owner_labels"),
        first: field(row, "first_seen") || "", regressed: !!field(row, "regressed"),
        confidence: field(row, "confidence"), waiver: field(row, "waiver"), text: null
      };
    });
    return raw;
  }

  /* --- drawing rows: the same markup for every finding, built with textContent only ------------- */

  function cell(cls, children) { return el("div", { role: "cell", "class": cls }, children); }
  function bdi(text) { return el("bdi", {}, [text]); }
  function badge(sev) { return el("span", { "class": "sev sev-" + sev }, [sev.charAt(0).toUpperCase() + sev.slice(1)]); }
  function flag(cls, text) { return el("span", { "class": "flag " + cls }, [text]); }
  function dateTime(value, shown) { return el("time", { datetime: value }, [shown]); }

  function flags(f) {
    var out = [];
    if (f.regressed) { out.push(flag("flag-regressed", "regressed")); }
    if (f.confidence === "likely") { out.push(flag("flag-likely", "likely, not proven")); }
    else if (f.confidence === "declared") { out.push(flag("flag-declared", "declared data")); }
    var w = f.waiver;
    if (w && f.status !== "waived") {
      if (w.expired) { out.push(flag("flag-expired", "waiver expired " + w.expires_on)); }
      else if (w.expiring_soon) { out.push(flag("flag-soon", "waiver expires " + w.expires_on)); }
    }
    return out;
  }

  function buildRow(f, waived) {
    var w = f.waiver;
    var what = [
      el("button", { type: "button", "class": "disclosure", "aria-expanded": "false", "aria-controls": "d-" + f.i }, [f.title]),
      el("span", { "class": "msg" }, [bdi(f.message)]),
      f.ownerLabels ? el("span", { "class": "owners" }, ["Owners: " + f.ownerLabels]) : null,
      waived && w ? el("span", { "class": "msg" }, ["Waived: " + w.reason + (w.source ? " (" + w.source + ")" : "")]) : null
    ].concat(flags(f));
    var account = cell("c-account", [bdi(f.label), el("span", { "class": "sub" }, [f.school])]);
    var cells = [cell("c-sev", [badge(f.sev)]), cell("c-what", what)];
    if (waived) {
      var expiry = w ? [dateTime(w.expires_on, w.expires_on),
        w.expired ? " " : null, w.expired ? flag("flag-expired", "expired") : null,
        !w.expired && w.expiring_soon ? " " : null, !w.expired && w.expiring_soon ? flag("flag-soon", "within 14 days") : null] : ["—"];
      cells.push(account, cell("c-platform", [f.platform]), cell("c-rule", [el("code", {}, [f.rule])]),
        cell("c-approver", [w ? w.approver : "—"]), cell("c-date", expiry));
    } else {
      cells.push(cell("c-status", [el("span", { "class": "status status-" + f.status }, [STATUS_TEXT[f.status] || f.status])]),
        account, cell("c-platform", [f.platform]), cell("c-rule", [el("code", {}, [f.rule])]),
        cell("c-date", [dateTime(f.first, f.first.slice(0, 10))]));
    }
    var group = el("div", {
      role: "rowgroup", "class": "f", id: "f-" + f.i, "data-i": String(f.i), "data-sev": f.sev, "data-status": f.status,
      "data-school": f.school, "data-account": f.account, "data-owners": f.owners
    }, [el("div", { role: "row", "class": "r" }, cells)]);
    var panel = el("div", { role: "row", "class": "detail", id: "d-" + f.i });
    group.appendChild(panel);
    if (opened.has(f.i)) { fillDetail(panel); what[0].setAttribute("aria-expanded", "true"); } else { panel.hidden = true; }
    return group;
  }

  function plural(n, noun) { return n.toLocaleString("en") + " " + noun + (n === 1 ? "" : "s"); }

  function heading(tag, cls, title, sub, extra) {
    var h = el(tag, { "class": cls }, [title, " ", el("span", { "class": "sub" }, [sub])].concat(extra || []));
    return el("div", { role: "row" }, [el("div", { role: "cell", "aria-colspan": String(COLUMNS) }, [h])]);
  }

  function schoolHeading(st, school) {
    return el("div", { role: "rowgroup", "class": "group g-school", "data-school": school }, [
      heading("h3", "school-h", school, plural(st.schoolCounts[school] || 0, "finding"))]);
  }

  function accountHeading(st, f) {
    var state = st.accounts[f.account]; /* the account's audit state; none: not in coverage (e.g. found by discovery) */
    var extra = [];
    if (!state) { extra.push(" ", el("span", { "class": "state state-none" }, ["not a registered account"])); }
    else if (state !== "complete") { extra.push(" ", el("span", { "class": "state state-" + state }, ["audit " + state])); }
    return el("div", { role: "rowgroup", "class": "group g-account", "data-school": f.school, "data-account": f.account }, [
      heading("h4", "account-h", bdi(f.label), f.platform + " · " + f.account, extra)]);
  }

  /* --- a finding list: its findings, the current order, filter result and how many are drawn ---- */

  function listState(table, raw, waived) {
    var rows = findings.filter(function (f) { return (f.status === "waived") === waived; });
    var counts = {};
    rows.forEach(function (f) { counts[f.school] = (counts[f.school] || 0) + 1; });
    var prefix = waived ? "waived-" : "";
    return {
      table: table, waived: waived, rows: rows, order: rows, matched: rows, drawn: 0, limit: PAGE,
      sortKey: null, dir: 1, grouped: !waived, schoolCounts: counts, accounts: raw.accounts,
      status: document.getElementById(waived ? "waived-shown" : "shown"),
      empty: document.getElementById(waived ? "waived-none" : "none-shown"),
      listed: document.getElementById(prefix + "listed"),
      more: document.getElementById(waived ? "waived-more" : "findings-more"),
      noun: waived ? "waived finding" : "finding"
    };
  }

  function clearRows(st) {
    while (st.table.lastChild && !(st.table.lastChild.classList && st.table.lastChild.classList.contains("thead"))) {
      st.table.removeChild(st.table.lastChild);
    }
    st.drawn = 0;
  }

  /* Draw matched findings up to st.limit, after those already drawn; headings where school or account change. */
  function draw(st, everything) {
    var end = everything ? st.matched.length : Math.min(st.limit, st.matched.length);
    var fragment = document.createDocumentFragment();
    for (var k = st.drawn; k < end; k++) {
      var f = st.matched[k];
      var before = k > 0 ? st.matched[k - 1] : null;
      if (st.grouped && (!before || before.school !== f.school)) { fragment.appendChild(schoolHeading(st, f.school)); }
      if (st.grouped && (!before || before.school !== f.school || before.account !== f.account)) {
        fragment.appendChild(accountHeading(st, f));
      }
      fragment.appendChild(buildRow(f, st.waived));
    }
    st.table.appendChild(fragment);
    st.drawn = end;
    var left = st.matched.length - end;
    if (st.more) {
      st.more.hidden = left <= 0;
      st.more.textContent = "Show " + Math.min(PAGE, left).toLocaleString("en") + " more (" + left.toLocaleString("en") + " not listed yet)";
    }
    if (st.listed) {
      st.listed.textContent = left > 0 ? "Listed " + end.toLocaleString("en") + " of " + plural(st.matched.length, "matching " + st.noun) + "." : "";
    }
  }

  function redraw(st) {
    clearRows(st);
    st.limit = PAGE;
    draw(st, false);
  }

  /* --- filters, search, sorting: over the data ------------------------------------------------- */

  function valuesText(value, out) {
    if (Array.isArray(value)) { value.forEach(function (v) { valuesText(v, out); }); }
    else if (value && typeof value === "object") { Object.keys(value).forEach(function (k) { valuesText(value[k], out); }); }
    else if (value !== null && value !== undefined) { out.push(String(value)); }
    return out;
  }

  /* What search looks at: the row as shown, the evidence and the identifiers (not the policy text).
     Search terms hold no whitespace, so the text is not normalised beyond lower case. */
  function searchText(f) {
    if (f.text === null) {
      var all = details();
      var item = all.findings[f.i] || [];
      var w = f.waiver;
      var parts = [f.sev, f.title, f.message, f.ownerLabels ? "Owners: " + f.ownerLabels : "", STATUS_TEXT[f.status] || "",
        f.label, f.school, f.platform, f.rule, f.first.slice(0, 10), f.account,
        item[all.at.fingerprint] || "", item[all.at.subject] || "",
        w ? [w.reason, w.source || "", w.approver, w.expires_on].join(" ") : ""];
      f.text = valuesText(item[all.at.evidence], parts).join(" ").toLowerCase();
    }
    return f.text;
  }

  /* A while after opening, when the page is idle, prepare the search text a slice at a time so that a
     first search is quick (parsing the evidence is the one long step, about 0.5 s at 100,000 findings). */
  var INDEX_AFTER_MS = 2000;

  function indexWhenIdle() {
    var idle = window.requestIdleCallback || function (callback) { return window.setTimeout(callback, 50); };
    var next = 0;
    function slice(deadline) {
      var stop = Math.min(next + 2000, findings.length);
      while (next < stop) {
        searchText(findings[next]);
        next += 1;
        if (deadline && deadline.timeRemaining() < 1) { break; }
      }
      if (next < findings.length) { idle(slice); }
    }
    if (findings.length) { window.setTimeout(function () { idle(slice); }, INDEX_AFTER_MS); }
  }

  function readFilters(form) {
    var values = new FormData(form);
    var query = String(values.get("q") || "").trim().toLowerCase();
    return {
      severity: new Set(values.getAll("severity")),
      status: new Set(values.getAll("status")),
      rule: values.get("rule") || "",
      school: values.get("school") || "",
      platform: values.get("platform") || "",
      owner: values.get("owner") || "",
      terms: query ? query.split(/\s+/) : []
    };
  }

  function matches(f, q) {
    if (!q.severity.has(f.sev) || !q.status.has(f.status)) { return false; }
    if ((q.rule && f.rule !== q.rule) || (q.school && f.school !== q.school) || (q.platform && f.platform !== q.platform)) {
      return false;
    }
    if (q.owner && !ownedBy(f, q.owner)) { return false; }
    if (q.terms.length) {
      var text = searchText(f);
      for (var i = 0; i < q.terms.length; i++) {
        if (text.indexOf(q.terms[i]) === -1) { return false; }
      }
    }
    return true;
  }

  /* owners is " id id its ": space-delimited so that E10 never matches E100. */
  function ownedBy(f, owner) { return f.owners.indexOf(" " + owner + " ") !== -1; }

  function applyFilters(states, form) {
    var q = readFilters(form);
    states.forEach(function (st) {
      st.matched = st.order.filter(function (f) { return matches(f, q); });
      redraw(st);
      var shown = st.matched.length;
      var total = st.rows.length;
      if (st.status) {
        st.status.textContent = shown === total ? plural(total, st.noun) + "."
          : "Showing " + shown.toLocaleString("en") + " of " + plural(total, st.noun) + ".";
      }
      if (st.empty) { st.empty.hidden = shown !== 0; }
    });
  }

  /* --- act first: new and regressed high findings, in the server's order, following the owner filter */

  function actFirstItem(f) {
    return el("li", { "class": "af", "data-owners": f.owners, "data-i": String(f.i) }, [
      badge(f.sev), " ", el("a", { href: "#f-" + f.i }, [f.title]),
      f.regressed ? " " : null, f.regressed ? flag("flag-regressed", "regressed") : null, " ",
      el("span", { "class": "sub" }, [bdi(f.label), " (" + f.platform + ", " + f.school + ") · first seen ",
        dateTime(f.first, f.first.slice(0, 10)), " · ", bdi(f.message)]),
      " ", el("span", { "class": "sub af-owners" }, ["Owners: " + (f.ownerLabels || "none recorded")])
    ]);
  }

  function actFirstState(raw) {
    var list = document.getElementById("act-first-list");
    if (!list) { return null; }
    return {
      list: list, all: raw.act_first.map(function (i) { return findings[i]; }), matched: [], drawn: 0,
      more: document.getElementById("act-first-more"), none: document.getElementById("act-first-none")
    };
  }

  function drawActFirst(af, count) {
    var end = Math.min(af.drawn + count, af.matched.length);
    var fragment = document.createDocumentFragment();
    for (var k = af.drawn; k < end; k++) { fragment.appendChild(actFirstItem(af.matched[k])); }
    af.list.appendChild(fragment);
    af.drawn = end;
    var left = af.matched.length - end;
    af.more.hidden = left <= 0;
    af.more.textContent = "Show " + Math.min(ACT_FIRST_PAGE, left).toLocaleString("en") + " more (" + left.toLocaleString("en") + " not listed yet)";
  }

  /* Each person sees what they must do first. */
  function applyOwnerToActFirst(af, form) {
    if (!af) { return; }
    var owner = readFilters(form).owner;
    af.matched = af.all.filter(function (f) { return !owner || ownedBy(f, owner); });
    af.list.textContent = "";
    af.drawn = 0;
    drawActFirst(af, ACT_FIRST_PAGE);
    if (af.none) { af.none.hidden = af.matched.length !== 0; }
  }

  var SORT_VALUE = {
    severity: function (f) { return f.rank; },
    title: function (f) { return f.title.toLowerCase(); },
    status: function (f) { return f.status; },
    account: function (f) { return (f.label + f.school).toLowerCase(); },
    platform: function (f) { return f.platform; },
    rule: function (f) { return f.rule; },
    first: function (f) { return f.first; },
    approver: function (f) { return f.waiver ? f.waiver.approver.toLowerCase() : "—"; },
    expires: function (f) { return f.waiver ? f.waiver.expires_on : ""; }
  };

  function sortBy(st, key) {
    if (st.sortKey === key) {
      st.dir = -st.dir;
    } else {
      st.sortKey = key;
      st.dir = key === "severity" ? -1 : 1; /* most severe first */
    }
    var value = SORT_VALUE[key];
    var keyed = st.rows.map(function (f, k) { return { f: f, v: value(f), k: k }; });
    keyed.sort(function (a, b) {
      var c = a.v < b.v ? -1 : (a.v > b.v ? 1 : 0);
      return c * st.dir || a.k - b.k;
    });
    st.order = keyed.map(function (x) { return x.f; });
    st.grouped = false; /* sorted rows are one flat list */
    markSorted(st, key);
  }

  function markSorted(st, key) {
    Array.prototype.forEach.call(st.table.querySelectorAll("[role=columnheader][data-key]"), function (th) {
      th.setAttribute("aria-sort", th.dataset.key === key ? (st.dir === 1 ? "ascending" : "descending") : "none");
    });
  }

  /* Grouped: the server's order under school and account headings. Ungrouped: one flat list in the current order. */
  function setGrouped(st, grouped) {
    if (grouped) {
      st.sortKey = null;
      st.dir = 1;
      st.order = st.rows;
      markSorted(st, null);
    }
    st.grouped = grouped && !st.waived;
  }

  /* A link to #f-N (act-first item, bookmark): draw that finding, clearing the filters if they hide it. */
  function reveal(states, index, clearFilters) {
    var f = findings[index];
    if (!f) { return null; }
    var st = states.filter(function (s) { return s.waived === (f.status === "waived"); })[0];
    if (!st) { return null; }
    if (st.matched.indexOf(f) === -1) { clearFilters(); }
    var position = st.matched.indexOf(f);
    if (position >= st.drawn) {
      st.limit = Math.ceil((position + 1) / PAGE) * PAGE;
      draw(st, false);
    }
    return document.getElementById("f-" + index);
  }

  /* Printing shows every finding with its evidence: all are drawn, then the view comes back after. */
  function prepareForPrint(states) {
    states.forEach(function (st) {
      st.printing = true;
      clearRows(st);
      var kept = st.matched;
      st.matched = st.order;
      draw(st, true);
      st.matched = kept;
      Array.prototype.forEach.call(st.table.querySelectorAll(".detail"), fillDetail);
    });
  }

  function afterPrint(states) {
    states.forEach(function (st) {
      if (!st.printing) { return; }
      st.printing = false;
      var limit = st.limit;
      clearRows(st);
      st.limit = limit;
      draw(st, false);
    });
  }

  function init() {
    var form = document.getElementById("filters");
    var raw = loadRows();
    var states = [["findings-table", false], ["waived-table", true]]
      .map(function (pair) { var table = document.getElementById(pair[0]); return table ? listState(table, raw, pair[1]) : null; })
      .filter(Boolean);
    var actFirst = actFirstState(raw);
    var regroupButton = document.getElementById("regroup");
    var timer = null;

    function refresh() {
      window.clearTimeout(timer);
      if (form) { applyFilters(states, form); applyOwnerToActFirst(actFirst, form); }
    }

    var quietReset = false; /* reveal() clears the filters and redraws at once: no second, deferred redraw */
    function clearFilters() { quietReset = true; form.reset(); quietReset = false; refresh(); }

    document.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#f-']");
      if (link) { reveal(states, Number(link.getAttribute("href").slice(3)), clearFilters); return; } /* then the browser scrolls to it */
      var button = event.target.closest("button");
      if (!button) { return; }
      if (button.classList.contains("disclosure") || button.classList.contains("toggle")) {
        toggle(button, button.getAttribute("aria-expanded") !== "true");
      } else if (button.classList.contains("more")) {
        if (button.id === "act-first-more") { drawActFirst(actFirst, ACT_FIRST_PAGE); return; }
        states.forEach(function (st) { if (st.more === button) { st.limit = st.drawn + PAGE; draw(st, false); } });
      } else if (button.classList.contains("sort")) {
        var table = button.closest("[role=table]");
        states.forEach(function (st) { if (st.table === table) { sortBy(st, button.dataset.sort); } });
        if (regroupButton) { regroupButton.setAttribute("aria-pressed", "false"); } /* sorted rows are ungrouped */
        states.forEach(function (st) { if (st.table !== table) { setGrouped(st, false); } });
        refresh();
      } else if (button.id === "regroup") {
        /* a toggle: pressed = grouped by school and account (the server's order), released = one flat list */
        var grouped = button.getAttribute("aria-pressed") !== "true";
        states.forEach(function (st) { setGrouped(st, grouped); });
        button.setAttribute("aria-pressed", grouped ? "true" : "false");
        refresh();
      } else if (button.id === "expand-all" || button.id === "collapse-all") {
        var open = button.id === "expand-all";
        states.forEach(function (st) {
          Array.prototype.forEach.call(st.table.querySelectorAll("button.disclosure"), function (b) { toggle(b, open); });
        });
      }
    });

    window.addEventListener("beforeprint", function () { prepareForPrint(states); });
    window.addEventListener("afterprint", function () { afterPrint(states); });
    if (window.matchMedia) {
      window.matchMedia("print").addEventListener("change", function (event) {
        if (event.matches) { prepareForPrint(states); } else { afterPrint(states); }
      });
    }
    window.addEventListener("hashchange", function () {
      var target = /^#f-(\d+)$/.exec(location.hash);
      var row = target && reveal(states, Number(target[1]), clearFilters);
      if (row) { row.scrollIntoView(); }
    });

    if (form) {
      form.addEventListener("submit", function (event) { event.preventDefault(); });
      form.addEventListener("change", refresh);
      form.addEventListener("input", function (event) {
        if (event.target.name !== "q") { return; }
        window.clearTimeout(timer);
        timer = window.setTimeout(refresh, SEARCH_DELAY_MS);
      });
      form.addEventListener("reset", function () { if (!quietReset) { window.setTimeout(refresh, 0); } });
    }
    refresh(); /* draws the first page; the browser may have restored earlier filter values */
    indexWhenIdle();
    var linked = /^#f-(\d+)$/.exec(location.hash);
    if (linked) {
      var row = reveal(states, Number(linked[1]), clearFilters);
      if (row) { row.scrollIntoView(); }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
