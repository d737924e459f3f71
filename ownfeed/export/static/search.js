/* ownfeed search: finds posts in the index under search/, in the browser, no server.
 *
 * The index is split into small script files, loaded with <script> elements as a query
 * needs them, so it works on any static host and, in most browsers, from file:// too:
 * search/index.js (counts, the base documents to ignore, the documents with a newer row),
 * search/t<N>.js (words of the base segment), search/u<N>.js (words of posts new or
 * changed since the base was built), search/d<N>.js (titles and excerpts as the base was
 * built), search/e<K>.js (titles and excerpts of the posts new or changed since, in the
 * order of meta.rows). Words are folded the way the exporter folds them: lower case,
 * accents removed.
 */
(function () {
  "use strict";

  var form = document.querySelector(".search-form");
  var input = document.getElementById("q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var more = document.getElementById("search-more");
  if (!form || !input || !status || !list || !more) {
    return;
  }

  var PAGE = 20;
  var waiting = {};
  var loaded = {};
  var hits = [];
  var shown = 0;
  var meta = null;
  var stale = null;
  var rows = [];

  function arrive(key, value) {
    if (waiting[key]) {
      waiting[key].resolve(value);
    }
  }

  window.ownfeedSearch = {
    meta: arrive,
    shard: arrive,
    docs: arrive
  };

  function load(name) {
    if (loaded[name]) {
      return loaded[name];
    }
    loaded[name] = new Promise(function (resolve, reject) {
      waiting[name] = { resolve: resolve };
      var script = document.createElement("script");
      script.src = "search/" + name + ".js";
      script.onerror = function () {
        delete loaded[name];
        reject(new Error("cannot load search/" + name + ".js"));
      };
      document.head.appendChild(script);
    });
    return loaded[name];
  }

  function fold(word) {
    return word.normalize("NFKD").replace(/\p{M}/gu, "");
  }

  function words(text) {
    var found = text.normalize("NFC").toLowerCase().match(/[\p{L}\p{N}]+/gu) || [];
    var result = [];
    found.forEach(function (word) {
      var folded = Array.from(fold(word)).slice(0, 32).join("");
      if (Array.from(folded).length >= 2 && result.indexOf(folded) < 0) {
        result.push(folded);
      }
    });
    return result;
  }

  function shardOf(word) {
    var chars = Array.from(word);
    return (chars[0].codePointAt(0) * 31 + chars[1].codePointAt(0)) % meta.shards;
  }

  function decode(postings) {
    var docs = [];
    var last = 0;
    if (postings) {
      postings.split(",").forEach(function (part) {
        last += parseInt(part, 10);
        docs.push(last);
      });
    }
    return docs;
  }

  function matches(word, terms, found, skip) {
    Object.keys(terms).forEach(function (term) {
      if (term.indexOf(word) === 0) {
        decode(terms[term]).forEach(function (doc) {
          if (!skip || !skip.has(doc)) {
            found.add(doc);
          }
        });
      }
    });
    return found;
  }

  function shardsFor(word) {
    var n = shardOf(word);
    var files = [load("t" + n)];
    if (meta.delta.indexOf(n) >= 0) {
      files.push(load("u" + n));
    }
    return Promise.all(files);
  }

  function say(text) {
    status.textContent = text;
  }

  function failed() {
    var local = window.location.protocol === "file:";
    say(local
      ? "Search cannot run here: this browser does not let a page opened from a file load the search index. Serve the folder over http(s) (for example: python3 -m http.server) or use the list of posts."
      : "Search could not load its index. Please reload the page, or use the list of posts.");
  }

  function search(query) {
    var wanted = words(query);
    list.textContent = "";
    more.hidden = true;
    hits = [];
    shown = 0;
    if (!wanted.length) {
      say("Type a word of at least two letters.");
      return;
    }
    say("Searching…");
    load("index").then(function (value) {
      meta = value;
      stale = new Set(decode(meta.stale));
      rows = decode(meta.rows);
      return Promise.all(wanted.map(shardsFor));
    }).then(function (shards) {
      var result = null;
      wanted.forEach(function (word, i) {
        var found = matches(word, shards[i][0], new Set(), stale);
        if (shards[i][1]) {
          matches(word, shards[i][1], found, null);
        }
        result = result === null ? found : new Set(Array.from(result).filter(function (d) { return found.has(d); }));
      });
      hits = Array.from(result || []).sort(function (a, b) { return b - a; });
      var label = hits.length === 1 ? "1 post found" : hits.length + " posts found";
      say(label + " for “" + query.trim() + "”.");
      return showMore();
    }).catch(failed);
  }

  // Where a document's row is: its position in the delta's rows (binary search), else its
  // number in the base; null for a stale base document (its base row is outdated or gone).
  function place(doc) {
    var low = 0;
    var high = rows.length - 1;
    while (low <= high) {
      var middle = (low + high) >> 1;
      if (rows[middle] === doc) {
        return { file: "e" + Math.floor(middle / meta.chunk), at: middle % meta.chunk };
      }
      if (rows[middle] < doc) {
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    if (stale.has(doc)) {
      return null;
    }
    return { file: "d" + Math.floor(doc / meta.chunk), at: doc % meta.chunk };
  }

  function showMore() {
    var page = hits.slice(shown, shown + PAGE);
    shown += page.length;
    var places = page.map(place);
    var files = Array.from(new Set(places.filter(Boolean).map(function (p) { return p.file; })));
    return Promise.all(files.map(load)).then(function (lists) {
      var byFile = {};
      files.forEach(function (name, i) { byFile[name] = lists[i]; });
      places.forEach(function (p) {
        var item = p && byFile[p.file][p.at];
        if (item) {
          list.appendChild(render(item));
        }
      });
      more.hidden = shown >= hits.length;
    });
  }

  function render(item) {
    var li = document.createElement("li");
    var link = document.createElement("a");
    link.href = item[0];
    link.textContent = item[1];
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = " · " + item[2] + (item[4] ? " · " + item[4] : "");
    var excerpt = document.createElement("p");
    excerpt.className = "excerpt";
    excerpt.textContent = item[3];
    li.appendChild(link);
    li.appendChild(meta);
    li.appendChild(excerpt);
    return li;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var query = input.value;
    if (window.history && window.history.replaceState && window.location.protocol !== "file:") {
      window.history.replaceState(null, "", "?q=" + encodeURIComponent(query));
    }
    search(query);
  });
  more.addEventListener("click", function () {
    showMore().catch(failed);
  });

  var initial = new URLSearchParams(window.location.search).get("q");
  if (initial) {
    input.value = initial;
    search(initial);
  } else {
    say("Type one or more words; posts containing all of them are listed, latest archived first.");
  }
})();
