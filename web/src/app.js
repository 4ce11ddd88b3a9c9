// The chat page: one message at a time to the chat API on its own origin, each reply under its own
// question and shown as it is generated (the streamed route, read by stream.js), the conversation
// restored after a reload. Model output is never parsed as HTML (textContent only). Who the page
// speaks for is auth.js's part (window.chatAuth); a reply's notes and feedback thumbs are replies.js's
// (window.chatReplies).
(function () {
  "use strict";

  const auth = window.chatAuth;
  const replies = window.chatReplies;
  const answers = window.chatAnswers;
  const form = document.getElementById("chat-form");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const stop = document.getElementById("stop");
  const counter = document.getElementById("count");
  const messages = document.getElementById("messages");
  const statusLine = document.getElementById("status");
  const errorBox = document.getElementById("error");
  const errorText = document.getElementById("error-text");
  const retry = document.getElementById("retry");
  const newConversation = document.getElementById("new-conversation");
  const keyInput = document.getElementById("api-key");
  const SESSION_STORAGE = "chat.sessionId";

  let maxChars = 1000; // the stage's limit, from /config.json
  let busy = true; // until the conversation is restored; then while a message is on its way
  let sessionId = sessionStorage.getItem(SESSION_STORAGE) || startSession();
  let controller = null; // aborts the reply on its way (Stop)
  let cut = null; // the question and part-reply of a reply that did not finish, replaced by a retry

  // What the API removes before it counts and stores a message (README, "Text as sent"): C0 and C1
  // controls but tab, line feed and carriage return; bidirectional embeddings, overrides and isolates;
  // lone surrogates; noncharacters. It counts code points: an emoji is one, however it is encoded.
  const unsafeRanges = [
    "\\u0000-\\u0008", "\\u000B\\u000C", "\\u000E-\\u001F", "\\u007F-\\u009F", "\\u202A-\\u202E",
    "\\u2066-\\u2069", "\\uD800-\\uDFFF", "\\uFDD0-\\uFDEF",
  ];
  for (let plane = 0; plane <= 16; plane++) {
    const first = plane * 0x10000 + 0xfffe;
    unsafeRanges.push("\\u{" + first.toString(16) + "}\\u{" + (first + 1).toString(16) + "}");
  }
  const UNSAFE = new RegExp("[" + unsafeRanges.join("") + "]", "gu");
  const LONE_SURROGATE = /[\uD800-\uDFFF]/gu; // with the u flag, a pair is one code point and never matches

  function storedLength(text) {
    return Array.from(text.replace(UNSAFE, "")).length;
  }

  function startSession() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    const id = "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem(SESSION_STORAGE, id);
    return id;
  }

  function addMessage(role, text, after) {
    const item = document.createElement("li");
    item.className = "message message--" + role;
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = role === "user" ? "You: " : "Assistant: ";
    const body = document.createElement("span");
    body.textContent = text;
    item.append(who, body);
    if (after) after.after(item); // a reply sits under its own question
    else messages.append(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function showError(text, canRetry) {
    errorText.textContent = text;
    retry.hidden = !canRetry;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.hidden = true;
    errorText.textContent = "";
    retry.hidden = true;
  }

  function setBusy(value, status) {
    busy = value;
    send.disabled = value;
    newConversation.disabled = value;
    input.readOnly = value; // the message stays as sent until the API has taken it
    input.setAttribute("aria-busy", String(value));
    statusLine.dataset.busy = String(value);
    statusLine.textContent = value ? status : "";
  }

  function updateCount() {
    const length = storedLength(input.value);
    counter.textContent = length + " / " + maxChars;
    counter.classList.toggle("count--over", length > maxChars);
  }

  function markIncomplete(reply, note) {
    reply.classList.add("message--incomplete");
    replies.addNote(reply, note);
  }

  // A stored reply's notes and thumbs; feedback goes to the session the reply belongs to.
  function finishReply(reply, message) {
    const note = replies.guardrailNote(message.guardrail);
    if (note) replies.addNote(reply, note);
    if (typeof message.messageId !== "string") return;
    const session = sessionId;
    const endpoint = () => {
      const who = auth.credentials();
      if (!who) return null;
      const path = "/conversations/" + encodeURIComponent(session) + "/messages/" + encodeURIComponent(message.messageId);
      return { url: who.prefix + path + "/feedback", headers: who.headers };
    };
    replies.offerFeedback(reply, message.feedback || null, endpoint, (text) => showError(text, false));
  }

  async function submit() {
    if (busy) return; // Enter while a reply is pending sends nothing
    const text = input.value;
    if (!text.replace(UNSAFE, "").trim()) return;
    const length = storedLength(text);
    if (length > maxChars) {
      showError("That message is " + length + " characters long; the limit is " + maxChars + ".", false);
      return;
    }
    const who = auth.credentials();
    if (!who) {
      const missing = auth.missing();
      showError(missing.text, false);
      missing.control.focus();
      return;
    }
    if (cut && cut.text === text) {
      // A retry of a reply that did not finish: the API answers the stored message once; show it once.
      cut.question.remove();
      if (cut.reply) cut.reply.remove();
    }
    cut = null;
    clearError();
    setBusy(true, "The assistant is thinking…");
    controller = new AbortController();
    stop.hidden = false;
    const question = addMessage("user", text);
    question.classList.add("message--sending");
    let reply = null; // the answer's text node, once the API has taken the message
    let ended = null;
    let failure = null;
    let finished = {}; // the done event: the reply's messageId, and what the guardrail did
    try {
      const response = await fetch(who.prefix + "/chat/stream", {
        method: "POST",
        headers: Object.assign({ "Content-Type": "application/json", Accept: "text/event-stream" }, who.headers),
        // A lone surrogate is not text (the API refuses it as invalid JSON); everything else goes as typed.
        body: JSON.stringify({ sessionId: sessionId, message: text.replace(LONE_SURROGATE, "") }),
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(await answers.explain(response));
      ended = await window.chatStream.read(response, (name, data) => {
        if (name === "start") {
          question.classList.remove("message--sending"); // stored: it stays, whatever follows
          input.value = "";
          updateCount();
        } else if (name === "delta" && typeof data.text === "string") {
          if (!reply) {
            reply = addMessage("assistant", "", question);
            statusLine.textContent = "The assistant is writing…";
          }
          reply.lastChild.textContent += data.text;
        } else if (name === "guardrail" && typeof data.text === "string") {
          // A blocked chunk: what was shown so far is replaced by the guardrail's message.
          if (!reply) reply = addMessage("assistant", "", question);
          reply.lastChild.textContent = data.text;
        } else if (name === "done") {
          finished = data;
        } else if (name === "error") {
          failure = data;
        }
      });
    } catch (error) {
      if (error && error.name === "AbortError") {
        ended = "stopped";
      } else if (!question.classList.contains("message--sending")) {
        ended = null; // the network failed after the API took the message: a cut reply
      } else {
        // Not sent: the question goes, its text stays in the box, and Retry sends it again.
        question.remove();
        const reason = error instanceof TypeError ? "The network is unreachable. Check your connection and try again." : error.message;
        showError(reason, true);
        ended = "refused";
      }
    } finally {
      controller = null;
      stop.hidden = true;
    }
    if (ended === "done") {
      if (!reply) reply = addMessage("assistant", "", question);
      finishReply(reply, finished);
    } else if (ended !== "refused") {
      // Taken, but the reply did not finish: it is shown as it got, marked, and Retry asks again.
      if (reply) markIncomplete(reply, ended === "stopped" ? "stopped" : "incomplete");
      cut = { text: text, question: question, reply: reply };
      input.value = text;
      if (ended === "stopped") {
        showError("You stopped this reply; it was not kept. Retry asks again.", true);
      } else if (failure) {
        const wait = failure.retryable ? " (You can retry " + answers.waitFor(failure.retryAfter) + ".)" : "";
        showError(String(failure.message || "The reply could not be finished.") + wait, true);
      } else {
        showError("The reply was cut off. Please try again.", true);
      }
    }
    setBusy(false);
    updateCount();
    if (document.activeElement !== keyInput) input.focus();
  }

  // After a reload: the conversation of this tab's session, as the API stored it.
  async function restore() {
    const who = auth.credentials();
    if (!who) return;
    const shown = sessionId;
    try {
      const response = await fetch(who.prefix + "/conversations/" + encodeURIComponent(shown), { headers: who.headers });
      if (!response.ok) return; // a wrong key is explained when a message is sent
      const body = await response.json();
      // Nothing to restore into if the session changed or a message was sent meanwhile.
      if (shown !== sessionId || messages.childElementCount > 0 || !Array.isArray(body.messages)) return;
      messages.replaceChildren();
      if (body.truncated) addMessage("notice", "Earlier messages of this conversation are not shown.");
      for (const message of body.messages) {
        const item = addMessage(message.role === "user" ? "user" : "assistant", String(message.content));
        if (message.role !== "user") finishReply(item, message);
      }
    } catch (_) {
      // the conversation simply starts empty
    }
  }

  async function start() {
    setBusy(true, "Loading the conversation…");
    try {
      const loaded = await auth.load();
      maxChars = loaded.maxMessageChars;
      if (loaded.error) showError(loaded.error, false);
      await restore();
    } finally {
      setBusy(false);
      updateCount();
    }
  }

  newConversation.addEventListener("click", () => {
    if (busy) return;
    sessionId = startSession();
    cut = null;
    messages.replaceChildren();
    clearError();
    input.focus();
  });
  retry.addEventListener("click", () => submit());
  stop.addEventListener("click", () => {
    if (controller) controller.abort(); // the API stops the model and settles what it spent
  });
  keyInput.addEventListener("change", () => {
    if (!busy && messages.childElementCount === 0) restore();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("input", updateCount);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  start();
})();
