/* The review app's article page: edit a sentence, revert it, approve or reject a language (after
   asking), jump between flagged sentences (n / p), follow the narration being remade. The editor's
   name is settled before anything can change: until it is, the buttons that change are disabled.
   A refusal is shown next to the sentence and in the live region, and never moves the page. Talks to the JSON API (/api/articles/...); builds everything with DOM
   calls and textContent (never innerHTML), so no article text is ever read as markup. */
(function () {
  "use strict";

  var NAME_KEY = "pipeline-review-editor";
  var BUSY = "A pipeline run of this job is in progress; retrying…";
  var NO_NAME = "Enter your name at the top of the page first: it is recorded with your edit or review.";
  var main = document.getElementById("article");
  if (!main) { return; }
  var api = "/api/articles/" + encodeURIComponent(main.dataset.article) + "/";
  var nameInput = document.getElementById("editor-name");  /* absent when signed in */
  var signedIn = document.getElementById("signed-in");
  var notice = document.getElementById("notice");
  var problem = document.getElementById("problem");
  var polls = {};

  function say(text) { problem.textContent = ""; notice.textContent = text; }
  function complain(text) { notice.textContent = ""; problem.textContent = text; }
  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }
  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function languageName(lang) {
    var player = document.getElementById("player-" + lang);
    return player ? player.dataset.name : lang;
  }

  /* ---- who edits: the signed-in account, else a name remembered in this browser, asked for
     before the first change (the buttons that change wait for it) ---- */
  var CHANGES = "button.edit, button.revert, button.review-action";
  function editorName() {
    if (signedIn) { return signedIn.dataset.name; }  /* the server records the account anyway */
    var name = nameInput ? nameInput.value.trim() : "";
    return name || null;
  }
  function gate(root) {
    var ready = editorName() !== null;
    (root || document).querySelectorAll(CHANGES).forEach(function (button) {
      if (!button.closest("[data-busy]")) { button.disabled = !ready; }
    });
  }
  if (nameInput) {
    try { nameInput.value = localStorage.getItem(NAME_KEY) || ""; } catch (e) { /* storage off */ }
    nameInput.addEventListener("input", function () {
      try { localStorage.setItem(NAME_KEY, nameInput.value.trim()); } catch (e) { /* storage off */ }
      gate();
    });
    document.getElementById("name-form").addEventListener("submit", function (event) {
      event.preventDefault();
      if (editorName() !== null) { say("Your edits and reviews are recorded as " + editorName() + "."); }
    });
  }
  gate();

  /* ---- the API: JSON in and out; 423 (a pipeline run holds the job) is retried every 5 s ---- */
  function request(method, url, body, key) {
    var headers = {"Accept": "application/json"};
    var options = {method: method, headers: headers, credentials: "same-origin", cache: "no-store"};
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body || {});
    }
    if (key !== undefined && key !== null) { headers["If-Match"] = "\"" + key + "\""; }
    return fetch(url, options).then(function (response) {
      if (response.status === 423) {
        say(BUSY);
        return wait(5000).then(function () { return request(method, url, body, key); });
      }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var failure = new Error(data.error || ("the app answered " + response.status));
          failure.status = response.status;
          throw failure;
        }
        if (notice.textContent === BUSY) { say(""); }
        return data;
      });
    });
  }

  /* ---- one sentence, as the server renders it (templates/_sentence.html) ---- */
  function buildSentence(s, lang) {
    var n = s.index + 1;
    var div = element("div", "sentence" + (s.edit !== null && s.edit !== undefined ? " edited" : ""));
    div.id = "s-" + lang + "-" + s.index;
    div.dataset.lang = lang;
    div.dataset.index = String(s.index);
    div.dataset.key = s.key;
    div.dataset.source = s.source;
    div.tabIndex = -1;
    var text = element("span", "text" + (s.flags.length ? " flagged" : ""), s.text);
    if (s.flags.length) { text.setAttribute("aria-describedby", "flags-" + lang + "-" + s.index); }
    div.appendChild(text);
    var edited = s.edit !== null && s.edit !== undefined;
    if (edited) {
      var badge = element("span", "badge edited", "edited by " + (s.edited_by || "an editor") +
        (s.edit_from ? " (from " + s.edit_from + ")" : ""));
      badge.lang = "en";
      div.appendChild(badge);
      var details = element("details", "machine");
      details.lang = "en";
      details.appendChild(element("summary", null, "Machine translation"));
      var machine = element("p", null, s.machine);
      machine.lang = lang;
      details.appendChild(machine);
      div.appendChild(details);
    }
    if (s.flags.length) {
      var list = element("ul", "flags");
      list.id = "flags-" + lang + "-" + s.index;
      list.lang = "en";
      list.setAttribute("aria-label", "Quality flags");
      s.flags.forEach(function (flag) {
        var item = element("li");
        item.appendChild(element("span", "badge flag", flag.type));
        item.appendChild(document.createTextNode(" " + flag.detail));
        list.appendChild(item);
      });
      div.appendChild(list);
    }
    if (s.history && s.history.length) { div.appendChild(buildHistory(s.history, lang)); }
    var actions = element("span", "actions");
    actions.lang = "en";
    var edit = element("button", "edit", "Edit");
    edit.type = "button";
    edit.setAttribute("aria-label", "Edit sentence " + n + " (" + lang + ")");
    actions.appendChild(edit);
    if (edited) {
      var revert = element("button", "revert", "Revert to machine translation");
      revert.type = "button";
      revert.setAttribute("aria-label", "Revert to machine translation: sentence " + n + " (" + lang + ")");
      actions.appendChild(revert);
    }
    div.appendChild(actions);
    gate(div);
    return div;
  }

  function buildHistory(history, lang) {
    var details = element("details", "history");
    details.lang = "en";
    details.appendChild(element("summary", null, "History (" + history.length + ")"));
    var list = element("ol");
    history.forEach(function (entry) {
      var item = element("li", null, entry.at + " · " + entry.editor + " · " + entry.action + ": ");
      var said = element("span", null, entry.text);
      said.lang = lang;
      item.appendChild(said);
      list.appendChild(item);
    });
    details.appendChild(list);
    return details;
  }

  /* ---- an article's language as the API gives it: sentences, review, counts, audio; with
     `mark`, the sentences that changed are marked so. The text's key (sent with a review) is
     taken only when every sentence shown is the one it is of (none left open in an editor). ---- */
  function applyArticle(lang, data, replace, mark) {
    var flags = 0, edits = 0, behind = false;
    data.paragraphs.forEach(function (paragraph) {
      paragraph.forEach(function (s) {
        flags += s.flags.length;
        if (s.edit !== null && s.edit !== undefined) { edits += 1; }
        var old = document.getElementById("s-" + lang + "-" + s.index);
        var editing = old && old.querySelector("textarea");
        if (old && (s.index === replace || (!editing && old.dataset.key !== s.key))) {
          var fresh = buildSentence(s, lang);
          if (mark && s.index !== replace) {
            fresh.classList.add("changed");
            var badge = element("span", "badge changed", "changed since you read it");
            badge.lang = "en";
            fresh.insertBefore(badge, fresh.querySelector(".actions"));
          }
          old.replaceWith(fresh);
        } else if (old && old.dataset.key !== s.key) {
          behind = true;
        }
      });
    });
    var player = document.getElementById("player-" + lang);
    if (player && !behind && data.text_key) { player.dataset.textKey = data.text_key; }
    setCount("flag-count-" + lang, flags, flags + (flags === 1 ? " flag" : " flags"));
    setCount("edit-count-" + lang, edits, edits + " edited");
    showReview(lang, data);
    showAudio(lang, data);
  }

  function setCount(id, count, text) {
    var badge = document.getElementById(id);
    if (badge) { badge.textContent = text; badge.hidden = count === 0; }
  }

  function showReview(lang, data) {
    var state = document.getElementById("review-" + lang);
    var detail = document.getElementById("review-detail-" + lang);
    if (!state) { return; }
    state.textContent = data.review.replace(/_/g, " ");
    state.className = "review review-" + data.review;
    var d = data.review_detail;
    detail.textContent = d ? "by " + d.editor + (d.at ? ", " + d.at : "") + (d.note ? ": “" + d.note + "”" : "") : "";
  }

  /* ---- the narration: while it is remade, ask every 2 s; then swap the player's source ---- */
  function showAudio(lang, data) {
    var player = document.getElementById("player-" + lang);
    var status = document.getElementById("audio-status-" + lang);
    if (!player || !status) { return; }
    var was = player.dataset.audio;
    player.dataset.audio = data.audio;
    if (data.audio === "pending") {
      if (status.textContent !== "New audio is being made…") { status.textContent = "New audio is being made…"; }
      schedulePoll(lang);
      return;
    }
    if (data.audio === "ready") {
      var src = lang + "/narration.mp3?v=" + encodeURIComponent(data.audio_version);
      var audio = document.getElementById("audio-" + lang) || createPlayer(lang);
      if (audio.getAttribute("src") !== src) {
        audio.setAttribute("src", src);
        audio.querySelectorAll("track").forEach(function (track) {
          track.setAttribute("src", lang + "/transcript.vtt?v=" + encodeURIComponent(data.audio_version));
        });
        audio.load();
        buildChapters(lang, data.chapters || []);
        var download = document.getElementById("download-" + lang);
        if (download) { download.setAttribute("href", src); }
      }
      if (was === "pending") { status.textContent = "New audio is ready."; }
    } else if (data.audio === "failed") {
      status.textContent = "The audio could not be made.";
    }
    player.dataset.audioVersion = data.audio_version || "";
  }

  function createPlayer(lang) {
    var audio = element("audio");
    audio.id = "audio-" + lang;
    audio.controls = true;
    audio.preload = "metadata";
    audio.setAttribute("aria-label", languageName(lang) + " narration");
    var box = document.getElementById("audio-box-" + lang);
    box.insertBefore(audio, document.getElementById("chapters-" + lang));
    return audio;
  }

  function buildChapters(lang, chapters) {
    var list = document.getElementById("chapters-" + lang);
    if (!list) { return; }
    while (list.firstChild) { list.removeChild(list.firstChild); }
    chapters.forEach(function (chapter) {
      var start = Number(chapter.start) || 0;
      var minutes = Math.floor(start / 60), seconds = Math.floor(start % 60);
      var button = element("button", "chapter",
        minutes + ":" + (seconds < 10 ? "0" : "") + seconds + " " + chapter.title);
      button.type = "button";
      button.dataset.audio = "audio-" + lang;
      button.dataset.start = String(chapter.start);
      button.dataset.end = String(chapter.end);
      button.dataset.block = chapter.block === null || chapter.block === undefined ? "" : String(chapter.block);
      var item = element("li");
      item.appendChild(button);
      list.appendChild(item);
    });
    list.hidden = chapters.length === 0;
  }

  function schedulePoll(lang) {
    if (polls[lang]) { return; }
    polls[lang] = setTimeout(function () {
      request("GET", api + encodeURIComponent(lang)).then(function (data) {
        polls[lang] = null;
        applyArticle(lang, data);
      }, function (error) {
        polls[lang] = null;
        complain("Could not ask about the new audio: " + error.message);
        schedulePoll(lang);
      });
    }, 2000);
  }

  /* ---- editing a sentence ---- */
  function sentenceUrl(div) {
    return api + encodeURIComponent(div.dataset.lang) + "/sentences/" + encodeURIComponent(div.dataset.index);
  }

  function startEdit(div) {
    if (div.querySelector("textarea")) { return; }
    var lang = div.dataset.lang, n = Number(div.dataset.index) + 1;
    var id = "edit-" + lang + "-" + div.dataset.index;
    var form = element("div", "editor");
    form.lang = "en";
    var label = element("label", null, "Your version of sentence " + n + " (" + lang + ")");
    label.htmlFor = id;
    var source = element("p", "source muted", "English: " + div.dataset.source);
    source.id = id + "-source";
    var area = element("textarea");
    area.id = id;
    area.rows = 3;
    area.lang = lang;
    area.value = div.querySelector(".text").textContent;
    area.setAttribute("aria-describedby", source.id + " " + id + "-help");
    var help = element("p", "muted", "Ctrl+Enter saves, Escape cancels.");
    help.id = id + "-help";
    var save = element("button", "save", "Save");
    save.type = "button";
    save.setAttribute("aria-label", "Save sentence " + n + " (" + lang + ")");
    var cancel = element("button", "cancel", "Cancel");
    cancel.type = "button";
    cancel.setAttribute("aria-label", "Cancel editing sentence " + n + " (" + lang + ")");
    [label, source, area, help, save, cancel].forEach(function (node) { form.appendChild(node); });
    div.querySelector(".text").hidden = true;
    div.querySelector(".actions").hidden = true;
    div.appendChild(form);
    area.focus();
  }

  function stopEdit(div) {
    var form = div.querySelector(".editor");
    if (form) { form.remove(); }
    div.querySelector(".text").hidden = false;
    div.querySelector(".actions").hidden = false;
    div.querySelector("button.edit").focus();
  }

  function change(div, method, body, done) {
    if (div.dataset.busy) { return; }
    div.dataset.busy = "1";
    var lang = div.dataset.lang, index = Number(div.dataset.index);
    var buttons = div.querySelectorAll("button");
    buttons.forEach(function (button) { button.disabled = true; });
    request(method, sentenceUrl(div), body, div.dataset.key).then(function (data) {
      applyArticle(lang, data, index);
      var fresh = document.getElementById("s-" + lang + "-" + index);
      if (fresh) { fresh.querySelector("button.edit").focus(); }
      say(done);
    }, function (error) {
      delete div.dataset.busy;
      buttons.forEach(function (button) { button.disabled = false; });
      gate(div);
      refuse(div, error.message);
    });
  }

  /* A refusal: said beside the sentence and in the live region; the page stays where it is. */
  function refuse(div, message) {
    var said = div.querySelector(".problem") || element("p", "problem error");
    said.lang = "en";
    said.textContent = message;
    div.insertBefore(said, div.querySelector(".editor") || div.querySelector(".actions"));
    complain(message);
    var area = div.querySelector("textarea");
    if (area) { area.focus({preventScroll: true}); }
  }

  function save(div) {
    var editor = editorName();
    if (editor === null) { refuse(div, NO_NAME); return; }
    var text = div.querySelector("textarea").value;
    change(div, "PUT", {text: text, editor: editor}, "Sentence " + (Number(div.dataset.index) + 1) + " saved.");
  }

  function revert(div) {
    var editor = editorName();
    if (editor === null) { refuse(div, NO_NAME); return; }
    change(div, "DELETE", {editor: editor}, "Sentence " + (Number(div.dataset.index) + 1) + " is the machine translation again.");
  }

  /* ---- reviews ---- */
  /* Reject always asks; Approve asks when flags are still open (none open: it goes through). */
  function confirmed(lang, action) {
    var name = languageName(lang);
    if (action === "reject") {
      return window.confirm("Reject " + name + "? It is withdrawn until it is approved again.");
    }
    var open = main.querySelectorAll(".sentence[data-lang=\"" + lang + "\"] ul.flags > li").length;
    if (open === 0) { return true; }
    return window.confirm(open + (open === 1 ? " flag is" : " flags are") + " still open in " + name +
      ". Approve anyway?");
  }

  function review(button) {
    var editor = editorName();
    if (editor === null) { complain(NO_NAME); return; }
    var lang = button.dataset.lang, action = button.dataset.action;
    if (!confirmed(lang, action)) { say("Nothing recorded: " + languageName(lang) + " is as it was."); return; }
    var note = document.getElementById("note-" + lang);
    var key = document.getElementById("player-" + lang).dataset.textKey;
    button.disabled = true;
    request("POST", api + encodeURIComponent(lang) + "/" + action, {editor: editor, note: note.value}, key)
      .then(function (data) {
        button.disabled = false;
        note.value = "";
        showReview(lang, data);
        say(languageName(lang) + (action === "approve" ? " approved." : " rejected."));
      }, function (error) {
        button.disabled = false;
        if (error.status === 412) { showChanges(lang); } else { complain(error.message); }
      });
  }

  /* A review of a text that changed since the page read it (412): read it again and show what
     changed (marked), so the next review is of what the editor sees. */
  function showChanges(lang) {
    var changed = "The " + languageName(lang) + " text changed since you read it";
    request("GET", api + encodeURIComponent(lang)).then(function (data) {
      applyArticle(lang, data, undefined, true);
      complain(changed + ": the changed sentences are marked; review it again.");
    }, function (error) {
      complain(changed + "; reload the page (" + error.message + ").");
    });
  }

  /* ---- chapters: jump to the time and show the paragraph it speaks ---- */
  function showBlock(block) {
    document.querySelectorAll("tr.block.current").forEach(function (row) { row.classList.remove("current"); });
    if (block === "") { return; }
    var row = document.getElementById("block-" + block);
    if (row) { row.classList.add("current"); row.scrollIntoView({block: "center", behavior: "smooth"}); }
  }

  function playChapter(button) {
    var audio = document.getElementById(button.dataset.audio);
    if (!audio) { return; }
    audio.currentTime = parseFloat(button.dataset.start);
    var playing = audio.play();
    if (playing && playing.catch) { playing.catch(function () {}); }
    showBlock(button.dataset.block);
  }

  document.addEventListener("timeupdate", function (event) {
    var audio = event.target;
    if (!audio.id) { return; }
    var buttons = document.querySelectorAll("button.chapter[data-audio=\"" + audio.id + "\"]");
    buttons.forEach(function (button) {
      var start = parseFloat(button.dataset.start), end = parseFloat(button.dataset.end);
      if (audio.currentTime >= start && audio.currentTime < end && !button.classList.contains("now")) {
        buttons.forEach(function (other) { other.classList.remove("now"); });
        button.classList.add("now");
        showBlock(button.dataset.block);
      }
    });
  }, true);

  /* ---- the flagged sentences, in reading order: n / p and their buttons move the focus ---- */
  var lastFlag = null;
  function jump(step) {
    var flagged = Array.prototype.filter.call(main.querySelectorAll(".sentence"), function (div) {
      return div.querySelector(".text.flagged") !== null;
    });
    if (flagged.length === 0) { say("No sentence is flagged."); return; }
    var here = document.activeElement;
    if (here && here.closest(".flag-nav") && lastFlag) { here = lastFlag; }  /* its button: from the last */
    var at = flagged.indexOf(here ? here.closest(".sentence") : null);
    if (at < 0) {  /* from wherever the focus is: the first flagged one after it (before it, for p) */
      var after = flagged.filter(function (div) {
        return here && here !== document.body && (here.compareDocumentPosition(div) & Node.DOCUMENT_POSITION_FOLLOWING);
      });
      at = step > 0 ? flagged.indexOf(after[0] || flagged[0]) - 1 : flagged.indexOf(after[0] || flagged[0]);
    }
    var target = flagged[(at + step + flagged.length) % flagged.length];
    lastFlag = target;
    target.focus({preventScroll: true});
    target.scrollIntoView({block: "center"});
    say("Flagged sentence " + (flagged.indexOf(target) + 1) + " of " + flagged.length + ".");
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || target.isContentEditable ||
        /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) { return; }
    if (event.key === "n" || event.key === "p") {
      event.preventDefault();
      jump(event.key === "n" ? 1 : -1);
    }
  });

  /* ---- one listener for every button and key ---- */
  main.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || button.disabled) { return; }
    var div = button.closest(".sentence");
    if (button.classList.contains("edit")) { startEdit(div); }
    else if (button.classList.contains("save")) { save(div); }
    else if (button.classList.contains("cancel")) { stopEdit(div); }
    else if (button.classList.contains("revert")) { revert(div); }
    else if (button.classList.contains("review-action")) { review(button); }
    else if (button.classList.contains("chapter")) { playChapter(button); }
    else if (button.id === "next-flag") { jump(1); }
    else if (button.id === "prev-flag") { jump(-1); }
  });

  main.addEventListener("keydown", function (event) {
    if (event.target.tagName !== "TEXTAREA") { return; }
    var div = event.target.closest(".sentence");
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      save(div);
    } else if (event.key === "Escape") {
      event.preventDefault();
      stopEdit(div);
    }
  });

  document.querySelectorAll(".player[data-audio=\"pending\"]").forEach(function (player) {
    schedulePoll(player.dataset.lang);
  });
})();
