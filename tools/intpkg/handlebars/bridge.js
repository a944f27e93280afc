// What Python calls in the V8 context, after handlebars.js and fleet_helpers.js. Every entry point
// returns a plain object: its result, or {error: {message, line, column, token, offset}} (line 1-based,
// column 0-based, as handlebars.js counts), so that no JavaScript exception crosses into Python.
var intpkg = (function (Handlebars) {
  var fleet = Handlebars.create();  // Fleet compiles with its own environment, helpers registered on it
  intpkgRegisterFleetHelpers(fleet);
  var compiled = new Map();  // template source -> template function (no values are kept)
  var MAX_COMPILED = 64;

  // jison's default parseError throws a bare Error; keep the location it knows (same message).
  Handlebars.Parser.parseError = function (message, hash) {
    var error = new Error(message);
    error.hash = hash;
    throw error;
  };

  function failure(e) {
    var hash = (e && e.hash) || {};
    var loc = hash.loc || null;
    return {error: {
      message: String((e && e.message) || e),
      line: loc ? loc.first_line : (e && e.lineNumber) || (typeof hash.line === 'number' ? hash.line + 1 : null),
      column: loc ? loc.first_column : (e && typeof e.column === 'number' ? e.column : null),
      token: hash.token || null
    }};
  }

  function render(source, context) {
    try {
      var template = compiled.get(source);
      if (template === undefined) {
        if (compiled.size >= MAX_COMPILED) { compiled.clear(); }
        template = fleet.compile(source, {noEscape: true});
        compiled.set(source, template);
      }
      return {text: String(template(context))};
    } catch (e) {
      return failure(e);
    }
  }

  function parse(source) {
    try {
      return {ast: Handlebars.parse(source)};
    } catch (e) {
      return failure(e);
    }
  }

  // handlebars' own lexer over `source`: [[token, text, line, column], ...] up to EOF or a lexical error.
  function tokens(source) {
    var lexer = Object.create(Handlebars.Parser.lexer);  // own state; the parser's lexer is untouched
    var names = Handlebars.Parser.terminals_;
    var out = [];
    lexer.yy = {};
    lexer.setInput(source);
    try {
      for (;;) {
        var token = lexer.lex();
        var name = token === lexer.EOF ? 'EOF' : names[token] || String(token);
        out.push([name, lexer.yytext, lexer.yylloc.first_line, lexer.yylloc.first_column]);
        if (name === 'EOF') { break; }
      }
    } catch (e) {
      return {tokens: out, error: {message: String(e.message), offset: source.length - lexer._input.length}};
    }
    return {tokens: out};
  }

  return {version: Handlebars.VERSION, render: render, parse: parse, tokens: tokens};
})(Handlebars);
