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
  const TOKEN_STORAGE = "chat.idToken";
  const PKCE_STORAGE = "chat.pkce";
  const account = document.getElementById("account");
  const signIn = document.getElementById("sign-in");
  const signOut = document.getElementById("sign-out");
  const signedInAs = document.getElementById("signed-in-as");
  const keyForm = document.getElementById("key-form");
  let signInConfig = null; // from /config.json: where this stage's people sign in, or null

  function base64Url(bytes) {
    return btoa(String.fromCharCode.apply(null, Array.from(bytes)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomText(size) {
    const bytes = new Uint8Array(size);
    crypto.getRandomValues(bytes);
    return base64Url(bytes);
  }

  // Authorization code with PKCE: the page never holds a client secret.
  async function startSignIn() {
    const verifier = randomText(48);
    const state = randomText(16);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    sessionStorage.setItem(PKCE_STORAGE, JSON.stringify({ verifier: verifier, state: state }));
    const query = new URLSearchParams({
      response_type: "code",
      client_id: signInConfig.clientId,
      redirect_uri: signInConfig.redirectUri,
      scope: "openid email",
      state: state,
      code_challenge_method: "S256",
      code_challenge: base64Url(digest),
    });
    location.assign(signInConfig.domain + "/oauth2/authorize?" + query.toString());
  }

  async function finishSignIn() {
    const params = new URLSearchParams(location.search);
    const code = params.get("code");
    if (!code) return;
    history.replaceState(null, "", location.pathname);
    const pending = JSON.parse(sessionStorage.getItem(PKCE_STORAGE) || "null");
    sessionStorage.removeItem(PKCE_STORAGE);
    try {
      if (!pending || pending.state !== params.get("state")) throw new Error("state mismatch");
      const response = await fetch(signInConfig.domain + "/oauth2/token", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          client_id: signInConfig.clientId,
          code: code,
          redirect_uri: signInConfig.redirectUri,
          code_verifier: pending.verifier,
        }),
      });
      const tokens = response.ok ? await response.json() : {};
      if (typeof tokens.id_token !== "string") throw new Error("no id token");
      sessionStorage.setItem(TOKEN_STORAGE, tokens.id_token);
    } catch (_) {
      showError("Sign-in could not be completed. Please try again.");
    }
  }

  function idTokenEmail(token) {
    try {
      const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return typeof payload.email === "string" ? payload.email : "";
    } catch (_) {
      return "";
    }
  }

  function showAccount() {
    const token = sessionStorage.getItem(TOKEN_STORAGE);
    account.hidden = false;
    keyForm.hidden = true;
    signIn.hidden = Boolean(token);
    signOut.hidden = !token;
    signedInAs.textContent = token ? "Signed in as " + idTokenEmail(token) : "";
  }

  async function loadSignIn() {
    try {
      const response = await fetch("/config.json", { cache: "no-store" });
      const config = response.ok ? await response.json() : {};
      signInConfig = config && config.signIn ? config.signIn : null;
    } catch (_) {
      signInConfig = null;
    }
    if (!signInConfig) return;
    try {
      await finishSignIn();
    } finally {
      showAccount(); // whatever happened, the page offers Sign in (or Sign out)
    }
  }

  signIn.addEventListener("click", () => startSignIn());
  signOut.addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_STORAGE);
    const query = new URLSearchParams({ client_id: signInConfig.clientId, logout_uri: signInConfig.redirectUri });
    location.assign(signInConfig.domain + "/logout?" + query.toString());
  });

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
    if (response.status === 401 && signInConfig) {
      sessionStorage.removeItem(TOKEN_STORAGE);
      showAccount();
      return "Your sign-in has expired. Please sign in again.";
    }
    if (response.status === 413) return "That message is too long to send.";
    if (response.status === 403) {
      return signInConfig
        ? "The request was refused. If this keeps happening, rephrase the message."
        : "The request was refused: check the API key and try again.";
    }
    if (response.status === 429) return "Too many requests. Please try again " + waitText(response) + ".";
    if (response.status >= 500) return "The assistant is unavailable right now. Please try again " + waitText(response) + ".";
    return "Something went wrong (" + response.status + ").";
  }

  function credentials() {
    if (signInConfig) {
      const token = sessionStorage.getItem(TOKEN_STORAGE);
      return token ? { path: "/api/web/chat", headers: { Authorization: token } } : null;
    }
    const apiKey = keyInput.value.trim();
    if (!apiKey) return null;
    sessionStorage.setItem(KEY_STORAGE, apiKey);
    return { path: "/api/chat", headers: { "x-api-key": apiKey } };
  }

  async function submit() {
    const text = input.value.trim();
    if (!text) return;
    const auth = credentials();
    if (!auth) {
      showError(signInConfig ? "Sign in first." : "Enter your API key first.");
      (signInConfig ? signIn : keyInput).focus();
      return;
    }
    clearError();
    addMessage("user", text);
    input.value = "";
    setBusy(true);
    try {
      const response = await fetch(auth.path, {
        method: "POST",
        headers: Object.assign({ "Content-Type": "application/json" }, auth.headers),
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

  loadSignIn();

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
