// The reference page's set-up, a file of its own rather than an inline script, so a strict
// Content-Security-Policy (script-src 'self') still lets it run.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // The default validator badge asks validator.swagger.io about the document: nothing leaves the page.
  validatorUrl: null,
  // The API key typed into Authorize survives a reload of the page.
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
