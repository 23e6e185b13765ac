// Live preview for the watch form: asks /watches/preview while the query is typed and shows
// the parse error or the counts and newest matches. Text only: pieces become text nodes and
// <mark> elements, never HTML. Without JavaScript the form's Preview button does the same.
"use strict";
(function () {
  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }
  function show(panel, data) {
    panel.replaceChildren();
    if (data.error) { panel.appendChild(element("p", data.error, "error")); return; }
    var counts = element("p", "", "counts");
    counts.append("Stored stories matching: ", element("b", String(data.counts["24h"])), " in 24 h · ",
      element("b", String(data.counts["7d"])), " in 7 days · ", element("b", String(data.counts["30d"])), " in 30 days");
    panel.appendChild(counts);
    var list = element("ol", undefined, "hits");
    data.stories.forEach(function (story) {
      var item = element("li");
      item.dir = "auto";
      var link = element("a", story.title);
      if (/^https?:\/\//i.test(story.url)) link.href = story.url;
      link.rel = "noopener noreferrer";
      item.append(link, element("span", story.publisher + " · " + story.when, "meta"));
      var snippet = element("p", undefined, "snippet");
      story.snippet.forEach(function (piece) {
        snippet.appendChild(piece[1] ? element("mark", piece[0]) : document.createTextNode(piece[0]));
      });
      item.appendChild(snippet);
      list.appendChild(item);
    });
    panel.appendChild(list);
  }
  function setUp() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
    var query = document.getElementById("query");
    var language = document.getElementById("language");
    var panel = document.getElementById("preview");
    if (!query || !panel) return;
    var timer = null, asked = 0;
    function ask() {
      var number = ++asked;
      var params = new URLSearchParams({ q: query.value, language: language ? language.value : "any" });
      fetch("/watches/preview?" + params.toString(), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) { if (number === asked) show(panel, data); })
        .catch(function () {});
    }
    function later() { clearTimeout(timer); timer = setTimeout(ask, 300); }
    query.addEventListener("input", later);
    if (language) language.addEventListener("change", later);
  }
  document.addEventListener("DOMContentLoaded", setUp);
})();
