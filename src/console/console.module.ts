import { Module } from '@nestjs/common';
import { ConsoleController } from './console.controller';

/** The operators' web console (pages only; it calls the operator API). */
@Module({ controllers: [ConsoleController] })
export class ConsoleModule {}
