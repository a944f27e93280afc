"""System tests: the package collecting from its mock service into the real cluster.

For each `data_stream/<ds>/_dev/test/system/test-<name>-config.yml`:

1. start the mock API that the package declares under `_dev/deploy` (`service:` names it);
2. install the package into the cluster and pick a fresh namespace;
3. run intpkg's agent with the config's `vars` and `data_stream.vars` (placeholders `{{Hostname}}`,
   `{{Port}}` and `{{TEST_RUN_ID}}` filled in) until the assertions hold or `wait_for_data_timeout`;
4. fail on any `event.kind: pipeline_error` document, on fields the definitions do not allow, and on
   unmet `assert.hit_count` / `assert.min_count` / `assert.fields_present`;
5. with `--generate`, write the first document as the data stream's `sample_event.json`;
6. delete the data stream and stop the agent and the mock.
"""
