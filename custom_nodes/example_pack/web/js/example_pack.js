// Loaded by the editor from /extensions/example_pack/example_pack.js.
// It only announces itself; a real pack would register widgets or node behaviour here.
const app = globalThis.comfyAPI?.app?.app ?? globalThis.app;
if (app && typeof app.registerExtension === "function") {
  app.registerExtension({ name: "latentgraph.example_pack" });
} else {
  console.info("example_pack: editor app not found; nothing to register");
}
