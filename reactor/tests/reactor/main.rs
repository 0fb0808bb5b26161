//! The reactor's integration suite: every case runs once on io_uring and once on epoll; a
//! backend this machine's kernel refuses is reported as ignored with the reason.

#[path = "../util/mod.rs"]
mod util;

mod echo;
mod faults;
mod lifecycle;
mod overflow;
mod placement;
mod posting;
mod serial;
mod timers;

use util::Case;

macro_rules! cases {
    ($($module:ident :: $name:ident),* $(,)?) => {
        &[$(Case { name: concat!(stringify!($module), "::", stringify!($name)), run: $module::$name }),*]
    };
}

fn main() {
    util::run_suite(cases![
        lifecycle::a_pool_runs_the_backend_it_was_asked_for,
        lifecycle::shutdown_closes_every_descriptor_and_joins_the_threads,
        lifecycle::an_idle_executor_with_open_connections_wakes_only_for_due_timers,
        lifecycle::an_idle_pool_holding_ten_thousand_connection_ends_wakes_only_for_due_timers,
        timers::timers_fire_in_deadline_order_not_in_the_order_they_were_set,
        timers::a_cancelled_timer_never_fires,
        timers::a_rescheduled_timer_fires_at_its_new_deadline_only,
        timers::ten_thousand_timers_fire_in_deadline_order,
        posting::messages_from_each_thread_arrive_in_order,
        posting::a_full_mailbox_refuses_posts_with_full,
        posting::a_stopped_channel_refuses_posts_and_cancels_pending_replies,
        posting::a_completion_can_be_waited_on_or_awaited,
        posting::a_blocking_wait_inside_a_callback_returns_an_error_instead_of_deadlocking,
        posting::a_message_an_actor_posts_to_itself_arrives_in_a_later_turn,
        placement::a_thousand_channels_spread_evenly_over_the_executors,
        placement::every_callback_of_a_channel_runs_on_the_same_thread,
        faults::a_connect_to_a_closed_port_reports_an_error,
        faults::a_connect_the_peer_never_answers_reports_a_timeout,
        faults::a_peer_reset_mid_send_closes_only_that_channel_with_an_error,
        faults::a_full_send_queue_refuses_bytes_until_room_returns,
        serial::bytes_cross_a_pseudo_terminal_both_ways_at_several_baud_rates,
        echo::a_thousand_clients_echo_a_thousand_random_messages_on_one_executor,
        echo::a_thousand_clients_echo_a_thousand_random_messages_on_two_executors,
        echo::clients_echo_through_one_kibibyte_receive_buffers,
        echo::clients_echo_when_the_shared_receive_buffers_run_out,
        overflow::a_completion_queue_overflow_loses_no_completion,
    ]);
}
