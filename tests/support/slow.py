"""The tests of the fast suite's tiers that take seconds each, marked ``slow`` by tests/conftest.py: the
README's command leaves them out (as any run whose ``-m`` does not name slow), and .ci/run runs them
(``-m slow``). Each was 1.5 s or
more (the figure beside it: all its cases, seconds, summed) in a ``-n 2 --durations=0`` run on the 2-core
machine at a load average of 6-7, on 2026-12-07; most spawn Python processes (the CLI, pytester, a
browser), measure memory with tracemalloc, or hold a load or a bomb for seconds. A test file marks its
own slow tests with ``@pytest.mark.slow`` as well; this list is for those measured in bulk. The e2e
tests of 1 s or more (all cases summed) joined it from a second run (``-m e2e -n 2 --durations=0``, load
average 2, 2026-12-07 09:30), so that the README's command stays within a minute on two cores. The second
list (INNER) is for the inner loop (``-m "not e2e"``, 20 s at the most): the http and adversarial
tests of 0.5 s or more, most waiting out a real timeout, measured in one process at a load average of 1.5.
``unit/test_tiers.py`` checks that each entry names a test that exists."""

from __future__ import annotations

#: tests/<tier>/<file>: {test function (every case of it): seconds measured}
SLOW: dict[str, dict[str, float]] = {
    "adversarial/test_connections.py": {
        "test_1100_idle_sockets_under_ulimit_1024_leave_the_server_answering": 8.7,
        "test_a_low_file_limit_still_serves_clients_at_once": 7.7,
        "test_keepalive_timeout_closes_an_idle_connection": 1.5,
    },
    "adversarial/test_hostile.py": {
        "test_other_requests_are_served_while_a_big_zip_streams": 7.2,
        "test_a_dense_scenario_is_refused_at_the_node_cap_and_the_last_good_one_stays": 7.1,
        "test_a_big_scenario_loads_while_requests_are_served": 2.7,
        "test_odd_queries_are_not_kept_and_the_journal_stays_within_its_bytes": 2.4,
    },
    "adversarial/test_inflate.py": {
        "test_a_gzip_bomb_is_a_413_and_another_client_is_served_meanwhile": 14.8,
        "test_br_and_zstd_are_decoded_and_refused_cut_as_gzip_is": 7.5,
    },
    "adversarial/test_load.py": {
        "test_a_hundred_clients_of_two_hundred_mixed_requests": 18.2,
        "test_a_thousand_starts_at_once": 2.0,
    },
    "adversarial/test_no_secret_in_tape.py": {
        "test_no_secret_is_left_in_a_tape": 7.1,
    },
    "adversarial/test_safe_yaml.py": {
        "test_a_document_past_the_node_cap_stops_there_in_little_memory": 47.3,
        "test_a_large_valid_document_reads_in_little_more_memory_than_it_makes": 7.8,
    },
    "adversarial/test_scenario_from_hostile.py": {
        "test_empty_log_lines_are_charged_their_memory_and_bounded_across_jobs": 6.6,
        "test_a_tape_on_stdin_is_read_twice_from_its_copy": 2.8,
        "test_a_tape_of_long_strings_costs_no_more_than_the_caps": 2.8,
    },
    "adversarial/test_verify_hostile.py": {
        "test_the_clean_up_is_bounded_too_and_names_the_job_it_could_not_cancel": 2.0,
        "test_the_mock_streaming_a_long_log_passes": 2.0,
    },
    "e2e/test_cli.py": {
        "test_a_stale_ready_file_is_removed_even_when_serve_fails": 1.07,
        "test_scenarios_into_a_closed_pipe_ends_quietly": 1.31,
        "test_the_ready_file_is_removed_at_start_and_at_exit": 1.47,
        "test_a_signal_during_downloads_exits_0_within_5_s": 2.66,
        "test_sigterm_with_requests_in_flight_exits_0_within_5_s_and_frees_the_port": 7.5,
        "test_check_lists_every_problem_and_exits_1": 4.8,
        "test_bad_numbers_are_explained": 4.3,
        "test_serve_answers_and_stops_within_5_seconds": 3.4,
        "test_watch_reloads_the_file_and_keeps_the_last_good_one": 2.7,
        "test_check_warns_and_strict_fails_on_warnings": 2.6,
        "test_scenarios_lists_the_shipped_ones": 2.2,
        "test_an_unknown_scenario_is_explained": 2.1,
        "test_serve_a_shipped_scenario": 1.9,
        "test_a_bad_flag_is_explained": 1.9,
        "test_a_busy_port_is_explained": 1.8,
        "test_watch_needs_a_file": 1.8,
        "test_the_environment_overrides_the_scenario_and_a_flag_overrides_both": 1.7,
    },
    "e2e/test_cli_contract.py": {
        "test_serve_a_ready_file_that_cannot_be_written_is_3": 1.18,
        "test_scenarios_a_stray_argument_is_2_and_a_broken_shipped_one_is_1": 1.55,
        "test_a_bad_url_is_a_usage_error_naming_the_option": 27.7,
        "test_proxy_a_recording_folder_in_use_or_a_busy_port_is_3": 7.8,
        "test_serve_a_scenario_file_that_cannot_be_read_is_3_and_an_unknown_name_2": 7.2,
        "test_verify_an_unwritable_report_or_an_unreachable_target_is_3": 6.6,
        "test_scenario_from_an_existing_file_is_2_and_an_unreadable_tape_3": 4.5,
        "test_serve_prints_one_line_per_violation_and_quiet_prints_none": 4.2,
        "test_check_a_file_that_cannot_be_read_is_3_and_no_file_is_2": 4.2,
    },
    "e2e/test_dashboard_browser.py": {
        "test_cancel_and_resume_on_a_job_page": 6.5,
        "test_a_job_started_through_the_api_reaches_success_on_screen_without_a_reload": 6.5,
        "test_the_dashboard_works_behind_a_reverse_proxy_under_a_prefix": 6.5,
        "test_the_page_keeps_working_after_a_scenario_reload": 6.4,
        "test_the_clock_buttons_move_a_manual_clock": 5.9,
        "test_a_violation_shows_its_pointer_and_a_script_in_a_body_does_not_run": 5.5,
        "test_a_page_of_another_origin_cannot_change_the_mock": 4.4,
        "test_a_tab_with_no_place_says_so_and_comes_back_when_one_is_free": 3.9,
        "test_the_sessions_page_lists_two_sessions_and_delete_removes_one": 6.0,
        "test_the_start_form_starts_a_job_and_its_progress_bar_shows": 6.0,
        "test_cancel_is_disabled_on_a_success_job": 6.0,
        "test_the_exchange_page_shows_headers_with_authorization_masked": 5.0,
    },
    "e2e/test_gc_untouched.py": {
        "test_importing_and_a_mock_server_leave_the_collector_alone": 3.9,
    },
    "e2e/test_proxy.py": {
        "test_redact_takes_a_field_name_as_well_as_a_pointer": 4.5,
        "test_the_command_records_until_sigterm_and_audits": 2.0,
        "test_the_command_exits_1_and_deletes_a_recording_that_leaked": 2.0,
    },
    "e2e/test_proxy_stop.py": {
        "test_sigterm_stops_the_proxy_within_5_s_whatever_is_in_flight": 4.2,
    },
    "e2e/test_pytest_plugin.py": {
        "test_a_marker_takes_a_settings_scenario_key_too": 1.67,
        "test_strict_mode_can_be_switched_off": 8.2,
        "test_strict_mode_fails_the_test_naming_request_field_schema_and_opt_out": 4.3,
        "test_strict_can_be_switched_off_inside_the_test": 4.3,
        "test_the_session_scenario_comes_from_the_command_line": 4.2,
        "test_the_factory_starts_separate_servers": 4.0,
        "test_a_client_that_keeps_the_contract_passes": 3.9,
        "test_each_test_starts_from_a_reset_server_with_its_own_scenario": 3.8,
        "test_a_strictness_that_is_no_strictness_is_refused": 3.8,
        "test_a_misspelt_marker_keyword_is_named_with_a_fix": 3.8,
        "test_strict_warnings_fails_a_test_on_what_the_contract_does_not_promise": 3.8,
        "test_a_test_that_fails_on_varied_answers_names_the_variations": 3.0,
        "test_the_options_are_documented_in_help": 2.4,
        "test_the_environment_reaches_the_fixture": 2.2,
    },
    "e2e/test_pytest_shared_server.py": {  # measured -n 2 at a load average of 9 (2026-12-07)
        "test_an_unreachable_url_is_a_usage_error_naming_it_and_the_fix": 1.9,
        "test_each_test_gets_its_own_session_of_the_shared_server": 2.4,
        "test_a_token_guarded_admin_api_takes_the_token": 2.2,
        "test_the_url_comes_from_the_environment": 2.0,
        "test_a_url_that_is_not_the_mock_is_a_usage_error": 1.9,
    },
    "e2e/test_readme.py": {
        "test_the_shell_example_is_the_script_the_tests_run": 1.4,
        "test_the_pytest_examples_pass": 6.5,
    },
    "e2e/test_scenarios_served.py": {
        "test_default": 1.05,
        "test_auth_expiry": 1.05,
        "test_seeded_replay": 1.07,
        "test_the_host_chooses_the_clock": 4.7,
        "test_slow_queue": 4.5,
        "test_system_job": 3.8,
        "test_fail_midway": 2.9,
        "test_cancel_and_resume": 2.3,
        "test_large_repository": 1.8,
        "test_counting_failure": 1.7,
        "test_filtered": 1.6,
    },
    "e2e/test_verify.py": {
        "test_every_shipped_scenario_passes": 6.33,
        "test_a_log_that_never_ends_stops_at_the_timeout": 1.8,
        "test_a_triggered_count_going_back_is_a_violation": 1.6,
    },
    "e2e/test_verify_stop.py": {
        "test_a_signal_mid_plan_cancels_the_started_job_and_writes_the_reports": 11.9,
        "test_a_name_lookup_that_never_returns_cannot_hold_the_exit_past_the_timeout": 2.1,
    },
    "e2e/test_zip_readers.py": {
        "test_javas_zip_input_stream_and_zip_file_read_it": 7.8,
    },
    "http/test_admin.py": {
        "test_a_page_of_jobs_reads_the_page_not_every_job": 26.2,
    },
    "http/test_dashboard.py": {
        "test_sigterm_stops_the_dev_server_within_5_s_with_a_dashboard_open": 3.0,
    },
    "http/test_event_streams.py": {
        "test_streams_that_stop_reading_lose_their_places_while_the_server_writes": 2.1,
    },
    "http/test_http_concurrency.py": {
        "test_random_concurrent_traffic_keeps_every_invariant": 1.7,
    },
    "http/test_variation.py": {
        "test_across_seeds_every_kind_of_variation_happens": 7.7,
        "test_every_varied_answer_keeps_the_contract_and_a_seed_repeats_exactly": 2.4,
    },
    "unit/test_audit.py": {
        "test_the_audit_finds_a_secret_however_many_came_before": 10.2,
    },
    "unit/test_exports.py": {
        "test_the_app_loads_no_yaml_until_a_scenario_file_is_read": 1.6,
    },
    "unit/test_joblog.py": {
        "test_a_page_stays_o_page_after_forty_thousand_cancel_resume_cycles": 2.3,
    },
    "unit/test_redaction.py": {
        "test_redacting_in_small_windows_gives_what_redacting_whole_does": 1.7,
    },
    "unit/test_scenarios.py": {
        "test_a_valid_scenario_is_checked_in_little_more_memory_than_its_yaml_takes": 5.3,
    },
    "e2e/test_scenario_output.py": {
        "test_standard_output_is_written_as_a_stream": 2.32,
    },
    "e2e/test_record_admin.py": {
        "test_the_proxy_says_once_at_its_start_what_it_redacts": 1.28,
    },
    # measured -n 2 --durations=25 at a load average of 1.3 (2026-12-07 13:03)
    "e2e/test_tls.py": {
        "test_tls_flags_that_cannot_serve_exit_naming_the_fix": 3.6,
    },
    "e2e/test_verify_ims.py": {
        "test_a_refused_token_request_is_exit_3_quoting_ims_never_the_secret": 3.0,
        "test_verify_gets_its_token_from_ims_and_the_author_takes_it": 1.5,
    },
}


#: The inner loop's tests of half a second or more (seconds, one process, load average 1.5).
INNER: dict[str, dict[str, float]] = {
    "adversarial/test_connections.py": {
        "test_on_a_keep_alive_connection_the_timeout_counts_from_the_next_requests_first_byte": 1.26,
        "test_a_body_slower_than_the_header_timeout_is_not_cut_by_it": 1.21,
        "test_an_idle_keep_alive_connection_outlives_the_header_timeout": 1.01,
        "test_a_half_sent_request_line_is_closed_after_the_timeout_while_others_are_served": 0.51,
        "test_headers_trickled_a_byte_at_a_time_are_cut_at_the_timeout": 0.51,
    },
    "adversarial/test_hostile.py": {
        "test_a_job_cancelled_and_resumed_without_end_keeps_a_bounded_log": 1.39,
        "test_seventy_thousand_unknown_keys_list_twenty_and_count_the_rest": 0.5,
    },
    "adversarial/test_inflate.py": {
        "test_a_bomb_stops_one_byte_past_the_cap": 1.0,
    },
    "adversarial/test_proxy_bounds.py": {
        "test_a_client_that_stops_reading_is_cut_off_at_the_timeout": 0.59,
    },
    "adversarial/test_scenario_from_hostile.py": {
        "test_a_kept_line_is_charged_at_least_what_it_takes_in_memory": 1.16,
    },
    "adversarial/test_verify_hostile.py": {
        "test_an_author_that_trickles_cannot_stretch_the_timeout": 1.36,
        "test_an_author_that_never_answers_is_a_setup_error_within_the_timeout": 0.91,
    },
    "http/test_dashboard.py": {
        "test_a_closed_tab_frees_its_event_stream_at_once_on_the_dev_server": 0.82,
        "test_the_event_stream_sends_each_change": 0.76,
    },
    "http/test_event_streams.py": {
        "test_an_idle_stream_ends_at_its_age_so_a_stuck_tab_frees_its_place": 0.53,
    },
}
