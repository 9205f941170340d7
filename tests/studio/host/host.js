// The host side of the MCP Apps bridge, as a chat client would run it, with the official AppBridge
// (@modelcontextprotocol/ext-apps, bundled into /bridge.js as window.McpAppsHost). Every MCP request
// is relayed to the real server through POST /rpc (tests/studio/relay.py).
"use strict";
const { AppBridge, PostMessageTransport } = window.McpAppsHost;
window.hostLog = { openedLinks: [], toolCalls: [], sizes: [] };

async function rpc(method, params) {
  const response = await fetch("/rpc", { method: "POST", body: JSON.stringify({ method, params }) });
  const body = await response.json();
  if (body.error) throw new Error(body.error);
  return body.result;
}

// What the spec says a host does with the resource's _meta.ui.csp: nothing from the network unless declared.
function contentSecurityPolicy(csp) {
  const resources = ((csp && csp.resourceDomains) || []).join(" ");
  const connect = ((csp && csp.connectDomains) || []).join(" ") || "'none'";
  return [
    "default-src 'none'",
    "script-src 'unsafe-inline' " + resources,
    "style-src 'unsafe-inline' " + resources,
    "img-src data: blob: " + resources,
    "media-src data: blob: " + resources,
    "font-src data: " + resources,
    "connect-src " + connect,
    "frame-src 'none'",
    "object-src 'none'",
  ].join("; ");
}

// Called by the test: run a tool as the model would, then render its UI resource with the result.
window.runTool = async (name, args, hostContext) => {
  const result = await rpc("tools/call", { name, arguments: args });
  const tools = (await rpc("tools/list", {})).tools;
  const tool = tools.find((t) => t.name === name);
  const uri = tool._meta.ui.resourceUri;
  const read = await rpc("resources/read", { uri });
  const content = read.contents[0];
  if (content.mimeType !== "text/html;profile=mcp-app") throw new Error("wrong MIME type " + content.mimeType);
  const csp = contentSecurityPolicy(content._meta && content._meta.ui && content._meta.ui.csp);
  const html = content.text.replace("<head>", `<head><meta http-equiv="Content-Security-Policy" content="${csp}">`);

  document.body.className = hostContext.theme === "dark" ? "dark" : "";
  document.querySelectorAll("iframe").forEach((f) => f.remove());
  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.title = "Free Generation Image studio";
  iframe.id = "app";
  document.body.append(iframe);

  const bridge = new AppBridge(
    null,
    { name: "studio-test-host", version: "1.0.0" },
    { openLinks: {}, serverTools: {}, serverResources: {}, logging: {} },
    { hostContext: Object.assign({ displayMode: "inline", platform: "web" }, hostContext) },
  );
  bridge.oncalltool = async (params) => {
    window.hostLog.toolCalls.push(params.name);
    return rpc("tools/call", params);
  };
  bridge.onreadresource = (params) => rpc("resources/read", params);
  bridge.onopenlink = async ({ url }) => { window.hostLog.openedLinks.push(url); return {}; };
  bridge.onsizechange = ({ height }) => {
    window.hostLog.sizes.push(height);
    if (height) iframe.style.height = `${Math.min(Math.max(height, 200), 2400)}px`;
  };
  const initialized = new Promise((resolve) => {
    bridge.oninitialized = async () => {
      await bridge.sendToolInput({ arguments: args });
      await bridge.sendToolResult(result);
      resolve();
    };
  });
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  iframe.srcdoc = html;
  await initialized;
  window.bridge = bridge;
  return result.structuredContent;
};
