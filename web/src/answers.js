// How the page words the API's refusals (README, "The API"): what went wrong and when to try again, from
// the status, the answer's message and its Retry-After. app.js and replies.js use window.chatAnswers.
(function () {
  "use strict";

  function waitText(response) {
    return waitFor(parseInt(response.headers.get("Retry-After") || "", 10));
  }

  function waitFor(seconds) {
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
    if (response.status === 401 && window.chatAuth.signedInMode()) {
      window.chatAuth.signInExpired();
      return "Your sign-in has expired. Please sign in again.";
    }
    if (response.status === 413) return "That message is too long to send.";
    if (response.status === 403) {
      if (window.chatAuth.signedInMode()) return "The request was refused. If this keeps happening, rephrase the message.";
      window.chatAuth.keyRefused();
      return "The request was refused: check the API key and try again.";
    }
    if (response.status === 409) return (detail || "This message is being answered already.") + " Please try again " + waitText(response) + ".";
    if (response.status === 429) return "Too many requests. Please try again " + waitText(response) + ".";
    if (response.status >= 500) return "The assistant is unavailable right now. Please try again " + waitText(response) + ".";
    return "Something went wrong (" + response.status + ").";
  }

  window.chatAnswers = { explain, readMessage, waitFor, waitText };
})();
