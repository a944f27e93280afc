// Fleet's Handlebars helpers (x-pack/plugins/fleet/server/services/epm/agent/agent.ts), registered on
// the environment Fleet compiles stream templates with. Evaluated after handlebars.js.
var intpkgRegisterFleetHelpers = function (env) {
  env.registerHelper('contains', function (item, check, options) {
    if ((Array.isArray(check) || typeof check === 'string') && check.indexOf(item) !== -1) {
      if (options && options.fn) { return options.fn(this); }
      return true;
    }
    return '';
  });
  env.registerHelper('escape_string', function (str) {
    if (str === undefined || str === null || str === '') { return undefined; }
    return "'" + String(str).split("'").join("''").split("\n").join("\n\n") + "'";
  });
  env.registerHelper('escape_multiline_string', function (str) {
    if (str === undefined || str === null || str === '') { return undefined; }
    return String(str).split("'").join("''").split("\n").join("\n\n");
  });
  env.registerHelper('to_json', function (value) {
    if (typeof value === 'string') { return value; }
    return JSON.stringify(value);
  });
  env.registerHelper('url_encode', function (input) {
    return encodeURIComponent(input).replace(/[!'()*]/g, function (c) {
      return '%' + c.charCodeAt(0).toString(16).toUpperCase();
    });
  });
};
