// The host side of the test: the MCP Apps SDK's AppBridge in a page, bundled by run.mjs
// with esbuild. The page (on an origin of its own, http://apps-host.test) embeds one view in
// an iframe sandboxed as hosts do (allow-scripts only: an opaque origin), loading the view's
// HTML from resources/read, which run.mjs serves at http://apps-view.test. The view's
// tools/call go to vizier through the MCP client that run.mjs holds in Node
// (window.hostCallTool, exposed by playwright).
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';

window.toolCalls = [];

window.startView = async function (src, toolArgs, toolResult, width) {
  const frame = document.createElement('iframe');
  frame.id = 'view';
  frame.setAttribute('sandbox', 'allow-scripts');
  frame.style.cssText = `width:${width || 1000}px;height:900px;border:1px solid #ccc`;
  document.body.appendChild(frame);
  const bridge = new AppBridge(
    null,
    { name: 'vizier-test-host', version: '1.0.0' },
    { serverTools: {}, logging: {} },
    { hostContext: { theme: 'light', displayMode: 'inline', platform: 'web' } },
  );
  bridge.oncalltool = async (params) => {
    window.toolCalls.push({ name: params.name, arguments: params.arguments });
    return window.hostCallTool(params);
  };
  bridge.onsizechange = ({ height }) => {
    if (height) frame.style.height = Math.max(200, height + 4) + 'px';
  };
  const ready = new Promise((resolve) => { bridge.oninitialized = resolve; });
  // The bridge listens before the view loads: the view sends ui/initialize as soon as its
  // script runs, and a message sent before anyone listens is lost (the view would wait).
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  frame.src = src;
  await ready;
  await bridge.sendToolInput({ arguments: toolArgs });
  await bridge.sendToolResult(toolResult);
  window.bridge = bridge;
};
