// Reads the chat API's streamed reply (text/event-stream): each event is handed to onEvent(name, data)
// as it arrives. Resolves with the name of the event that ended the stream ("done" or "error"), or
// null if the connection ended without one (the reply was cut). Rejects if the network fails or the
// caller aborts (AbortError). The data is JSON; nothing here ever becomes HTML.
(function () {
  "use strict";

  async function read(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder(); // {stream: true} below: a character may span two chunks
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return null;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue; // a keep-alive comment
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (!data.length) continue;
        let parsed;
        try {
          parsed = JSON.parse(data.join("\n"));
        } catch (_) {
          return null; // not our stream: treat it as cut
        }
        onEvent(name, parsed);
        if (name === "done" || name === "error") {
          reader.cancel().catch(() => {});
          return name;
        }
      }
    }
  }

  window.chatStream = { read: read };
})();
