// What a page must stop when it is left (the live feed's EventSource, an object URL). Its own module so that
// pages can register and the shell can run the list without pages importing the shell (no import cycle).
let cleanup = [];

export function onLeave(fn) {
  cleanup.push(fn);
}

export function leavePage() {
  for (const fn of cleanup) { try { fn(); } catch { /* already closed */ } }
  cleanup = [];
}
