// What a reply shows besides its text: what the stage's guardrail did to the turn (README, "Guardrails"),
// and thumbs up and down that give feedback on it (README, "Feedback on a reply"); thumbs down then asks,
// optionally, what went wrong. app.js uses window.chatReplies. Icons are drawn by CSS: a reply's text
// (textContent) stays the model's words.
(function () {
  "use strict";

  const CATEGORIES = [
    ["", "What went wrong? (optional)"],
    ["incorrect", "It is wrong"],
    ["unhelpful", "It does not help"],
    ["unsafe", "It is unsafe"],
    ["offensive", "It is offensive"],
    ["too_long", "It is too long"],
    ["other", "Something else"],
  ];
  const MAX_COMMENT = 500; // the API counts code points; maxlength counts UTF-16 units, never more

  function addNote(reply, note) {
    const mark = document.createElement("span");
    mark.className = "message__note";
    mark.textContent = " (" + note + ")";
    reply.append(mark);
  }

  // What the guardrail did to a turn, in words; "" if nothing.
  function guardrailNote(interventions) {
    if (!Array.isArray(interventions) || interventions.length === 0) return "";
    if (interventions.some((i) => i.action === "blocked")) return "withheld by the content guardrail";
    return "personal details masked";
  }

  async function refusal(response) {
    const answers = window.chatAnswers;
    if (response.status === 401 && window.chatAuth.signedInMode()) {
      window.chatAuth.signInExpired();
      return "your sign-in has expired. Please sign in again.";
    }
    if (response.status === 404) return "this reply is no longer kept.";
    if (response.status === 429 || response.status >= 500) return "please try again " + answers.waitText(response) + ".";
    return (await answers.readMessage(response)) || "it was refused (" + response.status + ").";
  }

  // Thumbs under `reply`. `given` is the feedback already given ({rating, ...}) or null; `endpoint()` is
  // where it goes ({url, headers}) or null without a key or sign-in; `onError(text)` shows a failure.
  function offerFeedback(reply, given, endpoint, onError) {
    const group = document.createElement("div");
    group.className = "feedback";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Rate this reply");
    const up = thumb("up", "Good reply");
    const down = thumb("down", "Bad reply");
    group.append(up, down);
    reply.append(group);
    let rating = given && typeof given.rating === "string" ? given.rating : null;
    let why = null;
    pressed();

    function thumb(kind, label) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "feedback__thumb feedback__thumb--" + kind;
      button.setAttribute("aria-label", label);
      button.addEventListener("click", () => rate(kind));
      return button;
    }

    function pressed() {
      up.setAttribute("aria-pressed", String(rating === "up"));
      down.setAttribute("aria-pressed", String(rating === "down"));
    }

    async function post(body, controls) {
      const where = endpoint();
      if (!where) {
        onError("Your feedback was not saved: enter the API key or sign in first.");
        return false;
      }
      controls.forEach((control) => (control.disabled = true));
      try {
        const response = await fetch(where.url, {
          method: "POST",
          headers: Object.assign({ "Content-Type": "application/json" }, where.headers),
          body: JSON.stringify(body),
        });
        if (response.ok) return true;
        onError("Your feedback was not saved: " + (await refusal(response)));
      } catch (_) {
        onError("Your feedback was not saved: the network is unreachable.");
      } finally {
        controls.forEach((control) => (control.disabled = false));
      }
      return false;
    }

    async function rate(kind) {
      if (kind === rating) return;
      if (!(await post({ rating: kind }, [up, down]))) return;
      rating = kind;
      pressed();
      if (kind === "down") askWhy();
      else if (why) why.remove();
    }

    // Optional: a category and a comment, sent with the thumbs down (they replace it, as the API does).
    function askWhy() {
      why = document.createElement("form");
      why.className = "feedback__why";
      const category = document.createElement("select");
      category.setAttribute("aria-label", "What went wrong");
      for (const [value, label] of CATEGORIES) category.append(new Option(label, value));
      const comment = document.createElement("textarea");
      comment.rows = 2;
      comment.maxLength = MAX_COMMENT;
      comment.placeholder = "Tell us more (optional)";
      comment.setAttribute("aria-label", "Comment on this reply");
      const sendWhy = document.createElement("button");
      sendWhy.type = "submit";
      sendWhy.className = "secondary";
      sendWhy.textContent = "Send feedback";
      why.append(category, comment, sendWhy);
      why.addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = { rating: "down" };
        if (category.value) body.category = category.value;
        if (comment.value.trim()) body.comment = comment.value.trim();
        if (!(await post(body, [category, comment, sendWhy, up, down]))) return;
        const thanks = document.createElement("p");
        thanks.className = "feedback__thanks hint";
        thanks.setAttribute("role", "status");
        thanks.textContent = "Thank you: this helps us improve the assistant.";
        why.replaceWith(thanks);
        why = thanks;
      });
      group.after(why);
      category.focus();
    }
  }

  window.chatReplies = { addNote, guardrailNote, offerFeedback };
})();
