// The waiting-room display: server-sent events from /display/<office>/events.
// "state" redraws the counters and the next numbers; "call" shows the number big and plays the
// chime and the spoken call (one WAV from the server, espeak-ng). EventSource reconnects by
// itself (retry 1 s) with Last-Event-ID; the server answers a full state on every connect.
"use strict";

(function () {
  const body = document.body;
  const office = body.dataset.office;
  let lastStateId = Number(body.dataset.eventId || 0);
  const seen = [];  // ids of the calls announced (a call may come after a newer state)
  const queue = [];  // calls waiting for the audio element
  let playing = false;
  const audio = document.getElementById("call-audio");
  const played = document.getElementById("played");

  function text(id, value) { document.getElementById(id).textContent = value; }

  function renderState(state) {
    const counters = document.getElementById("counter-list");
    counters.replaceChildren(...state.counters.map(function (c) {
      const li = document.createElement("li");
      li.dataset.counter = c.number;
      const name = document.createElement("span");
      name.className = "loket";
      name.textContent = String(c.number);
      const serving = document.createElement("span");
      serving.className = "serving";
      serving.textContent = c.serving || "—";
      li.append(name, serving);
      return li;
    }));
    const next = document.getElementById("next-list");
    next.replaceChildren(...state.next.map(function (n) {
      const li = document.createElement("li");
      li.textContent = n;
      return li;
    }));
  }

  function log(kind, call) {  // what was played, for the technician and the tests
    const li = document.createElement("li");
    li.dataset.kind = kind;
    li.dataset.eventId = call.event_id;
    li.textContent = call.calling_number + " " + call.counter;
    played.append(li);
  }

  function playNext() {
    if (playing || queue.length === 0) { return; }
    const call = queue.shift();
    playing = true;
    text("call-number", call.calling_number);
    text("call-counter", "Loket " + call.counter);
    const box = document.getElementById("call");
    box.classList.remove("flash");
    void box.offsetWidth;  // restart the animation
    box.classList.add("flash");
    audio.src = call.audio;
    audio.onended = function () { log("ended", call); playing = false; playNext(); };
    audio.onerror = function () { log("error", call); playing = false; playNext(); };
    const started = audio.play();
    if (started && started.catch) {
      started.catch(function (err) { log("blocked:" + err.name, call); playing = false; playNext(); });
    }
  }

  function onCall(message) {
    const call = JSON.parse(message.data);
    if (seen.includes(call.event_id)) { return; }  // replayed after a reconnect
    seen.push(call.event_id);
    if (seen.length > 200) { seen.shift(); }
    queue.push(call);
    playNext();
  }

  function onState(message) {
    const state = JSON.parse(message.data);
    if (state.event_id < lastStateId) { return; }  // an older state crossed a newer one
    lastStateId = state.event_id;
    body.dataset.eventId = lastStateId;
    renderState(state);
  }

  function connect() {
    const source = new EventSource("/display/" + encodeURIComponent(office) + "/events");
    source.addEventListener("state", onState);
    source.addEventListener("call", onCall);
    source.onopen = function () {
      const status = document.getElementById("connection");
      status.className = "ok";
      status.textContent = "Terhubung";
      body.dataset.connects = String(Number(body.dataset.connects || 0) + 1);
    };
    source.onerror = function () {
      const status = document.getElementById("connection");
      status.className = "lost";
      status.textContent = "Menyambung ulang…";
      if (source.readyState === EventSource.CLOSED) {  // the browser gave up: start over
        setTimeout(connect, 2000);
      }
    };
  }

  connect();
}());
