// Entry point: read /config.json, wire sign-in and the API client, render.
import { render } from "preact";
import { App } from "./app";
import { cognitoAuth } from "./auth";
import { keyLimits, loadConfig } from "./config";
import "./styles.css";

const root = document.getElementById("app")!;

loadConfig().then(
  (cfg) => render(<App auth={cognitoAuth(cfg)} apiUrl={cfg.apiUrl} local={!!cfg.cognitoEndpoint} limits={keyLimits(cfg)} />, root),
  (err: Error) => {
    root.innerHTML = "";
    const p = document.createElement("p");
    p.className = "banner error";
    p.setAttribute("role", "alert");
    p.textContent = `The console cannot start: ${err.message}`;
    root.append(p);
  },
);
