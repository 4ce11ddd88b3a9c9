// The chat page: sends one message at a time to /api/chat on its own origin and shows the reply as
// text. Model output is never parsed as HTML (textContent only).
(function () {
  "use strict";

  const form = document.getElementById("chat-form");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const messages = document.getElementById("messages");
  const statusLine = document.getElementById("status");
  const errorBox = document.getElementById("error");
  const keyInput = document.getElementById("api-key");

  const KEY_STORAGE = "chat.apiKey";
  const SESSION_STORAGE = "chat.sessionId";

  function newSessionId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const sessionId = sessionStorage.getItem(SESSION_STORAGE) || newSessionId();
  sessionStorage.setItem(SESSION_STORAGE, sessionId);
  keyInput.value = sessionStorage.getItem(KEY_STORAGE) || "";
  keyInput.addEventListener("change", () => sessionStorage.setItem(KEY_STORAGE, keyInput.value.trim()));

  function addMessage(role, text) {
    const item = document.createElement("li");
    item.className = "message message--" + role;
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = role === "user" ? "You: " : "Assistant: ";
    const body = document.createElement("span");
    body.textContent = text;
    item.append(who, body);
    messages.append(item);
    item.scrollIntoView({ block: "end" });
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
  }

  function setBusy(busy) {
    send.disabled = busy;
    input.setAttribute("aria-busy", String(busy));
    statusLine.dataset.busy = String(busy);
    statusLine.textContent = busy ? "The assistant is thinking…" : "";
  }

  function waitText(response) {
    const seconds = parseInt(response.headers.get("Retry-After") || "", 10);
    if (!Number.isFinite(seconds) || seconds <= 0) return "in a moment";
    if (seconds < 120) return "in " + seconds + " seconds";
    if (seconds < 5400) return "in about " + Math.ceil(seconds / 60) + " minutes";
    return "in about " + Math.round(seconds / 3600) + " hours";
  }

  async function readMessage(response) {
    try {
      const body = await response.json();
      return typeof body.message === "string" ? body.message : "";
    } catch (_) {
      return "";
    }
  }

  async function explain(response) {
    const detail = await readMessage(response);
    if (response.status === 400) return "That message could not be sent: " + (detail || "it is not valid.");
    if (response.status === 401 || response.status === 403) return "The API key was refused. Check it and try again.";
    if (response.status === 429) return "Too many requests. Please try again " + waitText(response) + ".";
    if (response.status >= 500) return "The assistant is unavailable right now. Please try again " + waitText(response) + ".";
    return "Something went wrong (" + response.status + ").";
  }

  async function submit() {
    const text = input.value.trim();
    const apiKey = keyInput.value.trim();
    if (!text) return;
    if (!apiKey) {
      showError("Enter your API key first.");
      keyInput.focus();
      return;
    }
    sessionStorage.setItem(KEY_STORAGE, apiKey);
    clearError();
    addMessage("user", text);
    input.value = "";
    setBusy(true);
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", "x-api-key": apiKey },
        body: JSON.stringify({ sessionId: sessionId, message: text }),
      });
      if (response.ok) {
        const body = await response.json();
        addMessage("assistant", String(body.reply));
      } else {
        showError(await explain(response));
      }
    } catch (_) {
      showError("The network is unreachable. Check your connection and try again.");
    } finally {
      setBusy(false);
      input.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
})();
