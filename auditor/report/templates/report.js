/* report.html behaviour. Rows are rendered once by the server; filters only toggle `hidden`, sorting
   only re-orders existing row groups, search is debounced. A finding's evidence panel is built on
   first opening from the JSON data block, with textContent only (never innerHTML); platform text
   sits in dir=auto elements so right-to-left text cannot reorder its neighbours. No request is
   ever made. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var SEARCH_DELAY_MS = 150;
  var COLUMNS = 7;
  var data = null;

  /* --- the evidence panel ---------------------------------------------------------------------- */

  function details() {
    if (!data) {
      var block = document.getElementById("details-data");
      data = block ? JSON.parse(block.textContent) : { texts: [], findings: [] };
    }
    return data;
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
    var all = details();
    var d = all.findings[Number(row.dataset.i)];
    var r = row.dataset;
    var text = function (i) { return all.texts[i] || ""; };
    var observed = d.source === "observed";
    var evidence = el("section", { "class": "ev" }, [
      el("h3", {}, ["Evidence ", el("span", { "class": "src src-" + d.source }, [
        observed ? "observed on the platform" : "declared in the registry"])]),
      el("p", { "class": "conf" }, ["Confidence: ", el("strong", {}, [d.confidence]), (CONFIDENCE_NOTE[d.confidence] || "") + "."]),
      matchesTable(matchFacts(d.evidence, [])),
      d.evidence && Object.keys(d.evidence).length ? evidenceNode(d.evidence) : el("p", {}, ["No further evidence recorded."])
    ]);
    var clause = text(d.clause);
    var policy = el("section", { "class": "policy" }, [
      el("h3", {}, ["AP 80-06: " + text(d.section)]),
      clause ? el("blockquote", {}, [clause]) : el("p", {}, ["(The rule does not quote a clause.)"]),
      el("h3", {}, ["Remediation"]),
      el("p", {}, [text(d.remediation)]),
      linkParagraph(d, r.platform)
    ].concat(d.waiver ? waiverList(d.waiver) : []));
    var meta = el("p", { "class": "meta" }, [
      "School " + r.school + " · account ", el("code", {}, [r.account]),
      " · fingerprint ", el("code", {}, [d.fingerprint]),
      " · subject ", el("code", { dir: "auto" }, [d.subject]),
      " · first seen " + (r.first || "").slice(0, 10) + " (run ", el("code", {}, [d.first_seen_run]),
      "), last seen in run ", el("code", {}, [d.last_seen_run])
    ]);
    return el("div", { role: "cell", "aria-colspan": String(COLUMNS), "class": "detail-grid" }, [evidence, policy, meta]);
  }

  function fillDetail(panel) {
    if (!panel.firstChild) { panel.appendChild(buildDetail(panel.parentNode)); }
  }

  function toggle(button, open) {
    var target = document.getElementById(button.getAttribute("aria-controls"));
    if (!target) { return; }
    if (open && target.classList.contains("detail")) { fillDetail(target); }
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (target.classList.contains("detail")) { target.hidden = !open; } else { target.classList.toggle("open", open); }
  }

  /* --- filters, search, sorting ---------------------------------------------------------------- */

  function valuesText(value, out) {
    if (Array.isArray(value)) { value.forEach(function (v) { valuesText(v, out); }); }
    else if (value && typeof value === "object") { Object.keys(value).forEach(function (k) { valuesText(value[k], out); }); }
    else if (value !== null && value !== undefined) { out.push(String(value)); }
    return out;
  }

  /* What search looks at: the row as shown, the evidence and the identifiers (not the policy text). */
  function searchText(group) {
    var d = details().findings[Number(group.dataset.i)] || {};
    var parts = [group.firstElementChild.textContent, group.dataset.account, d.fingerprint || "", d.subject || ""];
    return valuesText(d.evidence, parts).join(" ").replace(/\s+/g, " ").toLowerCase();
  }

  function tableState(table) {
    var groups = Array.prototype.filter.call(table.children, function (child) {
      return child.getAttribute("role") === "rowgroup" && !child.classList.contains("thead");
    });
    var rows = groups.filter(function (g) { return g.classList.contains("f"); });
    rows.forEach(function (g, i) { g.order = i; });
    var waived = table.id === "waived-table";
    return {
      table: table,
      original: groups,
      rows: rows,
      headers: groups.filter(function (g) { return g.classList.contains("group"); }),
      texts: null,
      sortKey: null,
      dir: 1,
      status: document.getElementById(waived ? "waived-shown" : "shown"),
      empty: document.getElementById(waived ? "waived-none" : "none-shown"),
      noun: waived ? "waived finding" : "finding"
    };
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

  function matches(row, f, text) {
    var d = row.dataset;
    if (!f.severity.has(d.sev) || !f.status.has(d.status)) { return false; }
    if ((f.rule && d.rule !== f.rule) || (f.school && d.school !== f.school) || (f.platform && d.platform !== f.platform)) {
      return false;
    }
    if (f.owner && !ownedBy(row, f.owner)) { return false; }
    for (var i = 0; i < f.terms.length; i++) {
      if (text.indexOf(f.terms[i]) === -1) { return false; }
    }
    return true;
  }

  /* data-owners is " id id its ": space-delimited so that E10 never matches E100. */
  function ownedBy(node, owner) { return (node.dataset.owners || "").indexOf(" " + owner + " ") !== -1; }

  /* The act-first list follows the owner filter: each person sees what they must do first. */
  function applyOwnerToActFirst(form) {
    var list = document.getElementById("act-first-list");
    if (!list) { return; }
    var owner = readFilters(form).owner;
    var shown = 0;
    Array.prototype.forEach.call(list.children, function (item) {
      var ok = !owner || ownedBy(item, owner);
      item.hidden = !ok;
      if (ok) { shown += 1; }
    });
    var none = document.getElementById("act-first-none");
    if (none) { none.hidden = shown !== 0; }
  }

  function plural(n, noun) { return n + " " + noun + (n === 1 ? "" : "s"); }

  function applyFilters(states, form) {
    var f = readFilters(form);
    states.forEach(function (st) {
      if (f.terms.length && !st.texts) { st.texts = st.rows.map(searchText); }
      var shown = 0;
      var schools = new Set();
      var accounts = new Set();
      st.rows.forEach(function (row, i) {
        var ok = matches(row, f, f.terms.length ? st.texts[i] : "");
        if (row.hidden === ok) { row.hidden = !ok; }
        if (ok) {
          shown += 1;
          schools.add(row.dataset.school);
          accounts.add(row.dataset.school + "\u0000" + row.dataset.account);
        }
      });
      st.headers.forEach(function (g) {
        var visible = g.classList.contains("g-school") ? schools.has(g.dataset.school)
          : accounts.has(g.dataset.school + "\u0000" + g.dataset.account);
        if (g.hidden === visible) { g.hidden = !visible; }
      });
      var total = st.rows.length;
      if (st.status) {
        st.status.textContent = shown === total ? plural(total, st.noun) + "."
          : "Showing " + shown + " of " + plural(total, st.noun) + ".";
      }
      if (st.empty) { st.empty.hidden = shown !== 0; }
    });
  }

  function cellText(row, selector) {
    var cell = row.querySelector(selector);
    return cell ? cell.textContent.trim().toLowerCase() : "";
  }

  var SORT_VALUE = {
    severity: function (row) { return Number(row.dataset.rank); },
    title: function (row) { return cellText(row, "button.disclosure"); },
    status: function (row) { return row.dataset.status; },
    account: function (row) { return cellText(row, ".c-account"); },
    platform: function (row) { return row.dataset.platform; },
    rule: function (row) { return row.dataset.rule; },
    first: function (row) { return row.dataset.first || ""; },
    approver: function (row) { return cellText(row, ".c-approver"); },
    expires: function (row) { return row.dataset.expires || ""; }
  };

  function sortBy(st, key) {
    if (st.sortKey === key) {
      st.dir = -st.dir;
    } else {
      st.sortKey = key;
      st.dir = key === "severity" ? -1 : 1; /* most severe first */
    }
    var value = SORT_VALUE[key];
    var keyed = st.rows.map(function (row) { return { row: row, v: value(row) }; });
    keyed.sort(function (a, b) {
      var c = a.v < b.v ? -1 : (a.v > b.v ? 1 : 0);
      return c * st.dir || a.row.order - b.row.order;
    });
    st.headers.forEach(function (g) { if (g.parentNode) { g.parentNode.removeChild(g); } });
    append(st, keyed.map(function (k) { return k.row; }));
    markSorted(st, key);
  }

  function markSorted(st, key) {
    Array.prototype.forEach.call(st.table.querySelectorAll("[role=columnheader][data-key]"), function (th) {
      th.setAttribute("aria-sort", th.dataset.key === key ? (st.dir === 1 ? "ascending" : "descending") : "none");
    });
  }

  function append(st, groups) {
    var fragment = document.createDocumentFragment();
    groups.forEach(function (g) { fragment.appendChild(g); });
    st.table.appendChild(fragment);
  }

  function regroup(st) {
    st.sortKey = null;
    st.dir = 1;
    append(st, st.original);
    markSorted(st, null);
  }

  /* One flat list in the current order: the school and account headings leave, the rows stay. */
  function ungroup(st) {
    st.headers.forEach(function (g) { if (g.parentNode) { g.parentNode.removeChild(g); } });
  }

  /* Printing shows every finding with its evidence (the print style sheet un-hides them). */
  function prepareForPrint(states) {
    states.forEach(function (st) {
      st.rows.forEach(function (row) { fillDetail(row.querySelector(".detail")); });
    });
  }

  function init() {
    var form = document.getElementById("filters");
    var states = ["findings-table", "waived-table"]
      .map(function (id) { return document.getElementById(id); })
      .filter(Boolean)
      .map(tableState);
    var regroupButton = document.getElementById("regroup");
    var timer = null;

    function refresh() { applyFilters(states, form); applyOwnerToActFirst(form); }

    document.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) { return; }
      if (button.classList.contains("disclosure") || button.classList.contains("toggle")) {
        toggle(button, button.getAttribute("aria-expanded") !== "true");
      } else if (button.classList.contains("sort")) {
        var table = button.closest("[role=table]");
        states.forEach(function (st) { if (st.table === table) { sortBy(st, button.dataset.sort); } });
        if (regroupButton) { regroupButton.setAttribute("aria-pressed", "false"); } /* sorted rows are ungrouped */
      } else if (button.id === "regroup") {
        /* a toggle: pressed = grouped by school and account (the server's order), released = one flat list */
        var grouped = button.getAttribute("aria-pressed") !== "true";
        states.forEach(grouped ? regroup : ungroup);
        button.setAttribute("aria-pressed", grouped ? "true" : "false");
      } else if (button.id === "expand-all" || button.id === "collapse-all") {
        var open = button.id === "expand-all";
        states.forEach(function (st) {
          st.rows.forEach(function (row) {
            if (!row.hidden || !open) { toggle(row.querySelector("button.disclosure"), open); }
          });
        });
      }
    });

    window.addEventListener("beforeprint", function () { prepareForPrint(states); });
    if (window.matchMedia) {
      window.matchMedia("print").addEventListener("change", function (event) {
        if (event.matches) { prepareForPrint(states); }
      });
    }

    if (form) {
      form.addEventListener("submit", function (event) { event.preventDefault(); });
      form.addEventListener("change", refresh);
      form.addEventListener("input", function (event) {
        if (event.target.name !== "q") { return; }
        window.clearTimeout(timer);
        timer = window.setTimeout(refresh, SEARCH_DELAY_MS);
      });
      form.addEventListener("reset", function () { window.setTimeout(refresh, 0); });
      refresh(); /* the browser may have restored earlier filter values */
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
