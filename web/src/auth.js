// Who the page speaks for: an API key kept in this tab, or, where the stage has browser sign-in, a
// person signed in with Cognito (authorization code with PKCE: the page never holds a client secret).
// app.js uses window.chatAuth.
(function () {
  "use strict";

  const KEY_STORAGE = "chat.apiKey";
  const TOKEN_STORAGE = "chat.idToken";
  const PKCE_STORAGE = "chat.pkce";
  const account = document.getElementById("account");
  const signIn = document.getElementById("sign-in");
  const signOut = document.getElementById("sign-out");
  const signedInAs = document.getElementById("signed-in-as");
  const keyForm = document.getElementById("key-form");
  const keyInput = document.getElementById("api-key");
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

  // Returns an error text if a sign-in came back and could not be completed.
  async function finishSignIn() {
    const params = new URLSearchParams(location.search);
    const code = params.get("code");
    if (!code) return "";
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
      return "";
    } catch (_) {
      return "Sign-in could not be completed. Please try again.";
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

  // Reads /config.json and completes a sign-in that came back; {maxMessageChars, error}.
  async function load() {
    let config = {};
    try {
      const response = await fetch("/config.json", { cache: "no-store" });
      config = response.ok ? await response.json() : {};
    } catch (_) {
      config = {};
    }
    signInConfig = config && config.signIn ? config.signIn : null;
    let error = "";
    if (signInConfig) {
      try {
        error = await finishSignIn();
      } finally {
        showAccount(); // whatever happened, the page offers Sign in (or Sign out)
      }
    }
    const limit = parseInt(config && config.maxMessageChars, 10);
    return { maxMessageChars: Number.isFinite(limit) && limit > 0 ? limit : 1000, error: error };
  }

  signIn.addEventListener("click", () => startSignIn());
  signOut.addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_STORAGE);
    const query = new URLSearchParams({ client_id: signInConfig.clientId, logout_uri: signInConfig.redirectUri });
    location.assign(signInConfig.domain + "/logout?" + query.toString());
  });
  // Enter in the key field must not submit its form: a GET would put the key in the URL (history, logs).
  keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    keyInput.dispatchEvent(new Event("change"));
  });
  keyInput.value = sessionStorage.getItem(KEY_STORAGE) || "";
  keyInput.addEventListener("input", () => keyInput.removeAttribute("aria-invalid"));
  keyInput.addEventListener("change", () => sessionStorage.setItem(KEY_STORAGE, keyInput.value.trim()));

  window.chatAuth = {
    load: load,
    signedInMode: () => Boolean(signInConfig),
    // Where the API is and how to call it ({prefix, headers}), or null if there is no key or sign-in yet.
    credentials() {
      if (signInConfig) {
        const token = sessionStorage.getItem(TOKEN_STORAGE);
        return token ? { prefix: "/api/web", headers: { Authorization: token } } : null;
      }
      const apiKey = keyInput.value.trim();
      if (!apiKey) return null;
      sessionStorage.setItem(KEY_STORAGE, apiKey);
      return { prefix: "/api", headers: { "x-api-key": apiKey } };
    },
    // What the person should do first, and the control that does it.
    missing() {
      return signInConfig ? { text: "Sign in first.", control: signIn } : { text: "Enter your API key first.", control: keyInput };
    },
    signInExpired() {
      sessionStorage.removeItem(TOKEN_STORAGE);
      showAccount();
    },
    // The API refused the key: bring its field into view so it can be corrected.
    keyRefused() {
      keyInput.setAttribute("aria-invalid", "true");
      keyInput.scrollIntoView({ block: "center" });
      keyInput.focus();
      keyInput.select();
    },
  };
})();
